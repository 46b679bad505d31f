import { readFileSync } from 'node:fs';
import { EmptyFileSystem } from 'langium';
import { parseHelper } from 'langium/test';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Model } from '../../src/language/generated/ast.js';
import { createVtopoServices } from '../../src/language/vtopo-module.js';
import { documentModels } from '../../server/live/model.js';
import { liveDiagnostics } from '../../server/live/diagnostics.js';
import { liveHover } from '../../server/live/hover.js';
import type { TopologyModel } from '../../src/core/lsp-protocol.js';
import type { PortStatus, Status } from '../../src/core/status.js';

const text = readFileSync('test/fixtures/design-example.vtopo', 'utf8');
const lines = text.split('\n');
const lineOf = (needle: string) => lines.findIndex((l) => l.includes(needle));

function port(id: string, over: Partial<PortStatus> = {}): PortStatus {
    const [vm, name] = id.includes('.') ? id.split('.') : [undefined, id];
    return {
        id, ...(vm ? { vm } : {}), port: name, bridge: 'br0', datapath: 'embedded', link: 'up', vhost: vm ? 'connected' : undefined,
        rx_packets: 10, tx_packets: 10, rx_bytes: 1000, tx_bytes: 1000, drops: 0,
        queues: [0, 1].map((queue) => ({ queue, rx_packets: 5, tx_packets: 5, rx_bytes: 500, tx_bytes: 500, drops: 0, kicks: 3, calls: 4, mode: 'interrupt' as const, mode_switches: 0 })),
        ...over,
    };
}

function healthy(): Status {
    return {
        topology: 'lab', file: '/x/lab.vtopo', deployed: true, at: '2026-01-01T00:00:00Z',
        datapaths: [{ kind: 'embedded', running: true, pid: 10 }],
        vms: [{ name: 'web', state: 'running', accel: 'tcg', pid: 11 }, { name: 'db', state: 'running', accel: 'tcg', pid: 12 }],
        ports: [port('web.eth0'), port('db.eth0'), port('uplink')],
    };
}

let model: TopologyModel;

beforeAll(async () => {
    const parse = parseHelper<Model>(createVtopoServices(EmptyFileSystem).Vtopo);
    const doc = await parse(text);
    [model] = documentModels(doc.parseResult.value, 'file:///x/lab.vtopo', '/x/lab.vtopo');
});

describe('topology model', () => {
    it('lists every element with the range of its name', () => {
        expect(model.name).toBe('lab');
        expect(model.bridges.map((b) => `${b.name}:${b.datapath}`)).toEqual(['br0:embedded', 'br1:embedded']);
        expect(model.links.map((l) => l.id)).toEqual(['br0--br1']);
        expect(model.nics.map((n) => [n.name, n.bridge, n.queues])).toEqual([['uplink', 'br0', 2]]);
        expect(model.vms.map((v) => [v.name, v.ports.map((p) => `${p.id}@${p.bridge}x${p.queues}`)])).toEqual([
            ['web', ['web.eth0@br0x2']], ['db', ['db.eth0@br0x1']],
        ]);
        const web = model.vms[0];
        expect(web.range.start.line).toBe(lineOf('vm web {'));
        expect(lines[web.range.start.line].slice(web.range.start.character, web.range.end.character)).toBe('web');
    });
});

describe('status → live diagnostics', () => {
    it('a healthy deployment has none, an undeployed or foreign status has none', () => {
        expect(liveDiagnostics(model, healthy())).toEqual([]);
        expect(liveDiagnostics(model, { ...healthy(), deployed: false, vms: [{ name: 'web', state: 'crashed' }] })).toEqual([]);
        expect(liveDiagnostics(model, { ...healthy(), topology: 'other', vms: [{ name: 'web', state: 'crashed' }] })).toEqual([]);
        expect(liveDiagnostics(model, undefined)).toEqual([]);
    });

    it('a guest that exited is an error on its vm line carrying QEMU\'s message, and it hides its ports\' symptoms', () => {
        const s = healthy();
        s.vms[0] = { name: 'web', state: 'crashed', reason: 'qemu-system-x86_64: terminating on signal 9 from pid 1234' };
        s.ports[0] = port('web.eth0', { link: 'down', vhost: 'disconnected' });
        const ds = liveDiagnostics(model, s);
        expect(ds).toHaveLength(1);
        expect(ds[0].code).toBe('guest-exited');
        expect(ds[0].severity).toBe(1);
        expect(ds[0].message).toContain('terminating on signal 9');
        expect(ds[0].range.start.line).toBe(lineOf('vm web {'));
    });

    it('vhost never connected, link down, OvS interface error land on the port', () => {
        const s = healthy();
        s.ports[0] = port('web.eth0', { link: 'down', vhost: 'waiting' });
        s.ports[1] = port('db.eth0', { link: 'down' });
        const ds = liveDiagnostics(model, s);
        expect(ds.map((d) => [d.code, d.range.start.line])).toEqual([
            ['vhost-not-connected', lineOf('port eth0 {')],
            ['link-down', lineOf('port eth0 { bridge br0  ip 10.0.0.2/24 }')],
        ]);
        expect(ds[0].message).toContain('never connected');
        const ovs = healthy();
        ovs.ports[1] = port('db.eth0', { datapath: 'ovs', error: 'could not open network device db.eth0 (No such device)' });
        const [d] = liveDiagnostics(model, ovs);
        expect(d.code).toBe('ovs-interface-error');
        expect(d.message).toContain('No such device');
    });

    it('a booting guest\'s link-down is not reported yet', () => {
        const s = healthy();
        s.vms[1] = { name: 'db', state: 'booting' };
        s.ports[1] = port('db.eth0', { link: 'down', vhost: 'waiting' });
        expect(liveDiagnostics(model, s)).toEqual([]);
    });

    it('drops growing on a queue are reported while they grow and clear when they stop', () => {
        const a = healthy();
        const b = healthy();
        b.ports[0].queues[1].drops = 7;
        b.ports[0].drops = 7;
        const growing = liveDiagnostics(model, b, a);
        expect(growing.map((d) => d.code)).toEqual(['queue-drops']);
        expect(growing[0].message).toMatch(/queue 1 of web\.eth0.*\+7/);
        const c = healthy();
        c.ports[0].queues[1].drops = 7;
        c.ports[0].drops = 7;
        expect(liveDiagnostics(model, c, b)).toEqual([]);
    });

    it('a datapath that is not running marks the bridges it serves; a NIC link down marks the nic', () => {
        const s = healthy();
        s.datapaths[0] = { kind: 'embedded', running: false, error: 'exited with code 1' };
        s.ports[2] = port('uplink', { link: 'down' });
        const ds = liveDiagnostics(model, s);
        expect(ds.filter((d) => d.code === 'datapath-down').map((d) => d.range.start.line)).toEqual([lineOf('bridge br0 {'), lineOf('bridge br1')]);
        expect(ds.find((d) => d.code === 'link-down')?.range.start.line).toBe(lineOf('nic uplink {'));
    });
});

describe('the PMD/queue picture → live diagnostics', () => {
    const ovsPort = (id: string, q: Partial<PortStatus['queues'][number]>[], over: Partial<PortStatus> = {}) => port(id, {
        datapath: 'ovs', ...over,
        queues: q.map((x, queue) => ({ queue, rx_packets: 0, tx_packets: 0, rx_bytes: 0, tx_bytes: 0, drops: 0, kicks: 0, calls: 0, mode: 'poll' as const, mode_switches: 0, ...x })),
    });

    it('a queue no PMD polls is an error on the declaring port line, and clears once it is polled', () => {
        const s = healthy();
        s.ports[1] = ovsPort('db.eth0', [{ polled: false }]);
        const ds = liveDiagnostics(model, s);
        expect(ds.map((d) => [d.code, d.severity, d.range.start.line])).toEqual([['queue-not-polled', 1, lineOf('port eth0 { bridge br0  ip 10.0.0.2/24 }')]]);
        expect(ds[0].message).toContain('queue 0 of db.eth0 is not polled by any OvS PMD thread');
        s.ports[1] = ovsPort('db.eth0', [{ polled: true, core: 1, enabled: true }]);
        expect(liveDiagnostics(model, s)).toEqual([]);
    });

    it('a queue the guest never enabled is information on the port; not while the guest is not running or the link is down', () => {
        const s = healthy();
        s.ports[0] = ovsPort('web.eth0', [{ polled: true, enabled: true, core: 1 }, { polled: true, enabled: false, core: 1 }]);
        const ds = liveDiagnostics(model, s);
        expect(ds.map((d) => [d.code, d.severity, d.range.start.line])).toEqual([['queue-not-enabled', 3, lineOf('port eth0 {')]]);
        expect(ds[0].message).toContain('queue 1 of web.eth0: the guest has not enabled it (it uses 1 of 2 queues');
        s.vms[0] = { name: 'web', state: 'booting' };
        expect(liveDiagnostics(model, s)).toEqual([]);
        s.vms[0] = { name: 'web', state: 'running' };
        s.ports[0].link = 'down';
        s.ports[0].vhost = 'connecting';
        expect(liveDiagnostics(model, s).map((d) => d.code)).toEqual(['vhost-not-connected']);
    });

    it('a planned core that differs from the actual one is a warning; the same core is not', () => {
        const s = healthy();
        s.ports[1] = ovsPort('db.eth0', [{ polled: true, enabled: true, core: 0, planned_core: 1 }]);
        const ds = liveDiagnostics(model, s);
        expect(ds.map((d) => d.code)).toEqual(['queue-core-moved']);
        expect(ds[0].message).toBe('queue 0 of db.eth0 is polled on core 0, not on core 1 as planned');
        s.ports[1] = ovsPort('db.eth0', [{ polled: true, enabled: true, core: 1, planned_core: 1 }]);
        expect(liveDiagnostics(model, s)).toEqual([]);
    });

    it("OvS's own warnings about a port land on its line, once each, and go when OvS stops reporting them", () => {
        const s = healthy();
        const message = 'OvS WARN (dpdk): VHOST_CONFIG: (/run/x/db.eth0.sock) failed to connect: No such file or directory';
        s.datapath_warnings = [{ datapath: 'ovs', port: 'db.eth0', message }, { datapath: 'ovs', port: 'db.eth0', message }, { datapath: 'ovs', port: 'other', message }];
        const ds = liveDiagnostics(model, s);
        expect(ds.map((d) => [d.code, d.range.start.line, d.message])).toEqual([['ovs-warning', lineOf('port eth0 { bridge br0  ip 10.0.0.2/24 }'), `db.eth0: ${message}`]]);
        delete s.datapath_warnings;
        expect(liveDiagnostics(model, s)).toEqual([]);
    });

    it('the port hover shows each queue\'s core, enabled, polled and usage', () => {
        const s = healthy();
        s.ports[0] = ovsPort('web.eth0', [{ polled: true, enabled: true, core: 1, usage_pct: 12 }, { polled: false, enabled: false }], {});
        s.ports[0].queues[0].planned_core = 0;
        const md = liveHover({ kind: 'port', id: 'web.eth0' }, s)!;
        expect(md).toContain('| queue | core | enabled | polled | usage |');
        expect(md).toMatch(/\| 0 \| 1 \(planned 0\) \| yes \| yes \| 12% \|/);
        expect(md).toMatch(/\| 1 \| - \| no \| \*\*NO\*\* \| - \|/);
    });
});

describe('hugepages → live diagnostics', () => {
    it('a guest over its hugepage share is a warning on its vm line, OvS pools over theirs on the ovs bridges; none within share', () => {
        const s = healthy();
        s.hugepages = [{ page_kb: 2048, host_total: 600, host_free: 0, reserved: 512, users: [
            { name: 'web', kind: 'guest', used_pages: 300, share_pages: 128 }, { name: 'db', kind: 'guest', used_pages: 64, share_pages: 128 },
        ] }];
        const ds = liveDiagnostics(model, s);
        expect(ds.map((d) => [d.code, d.range.start.line, d.message])).toEqual([['hugepages-over-share', lineOf('vm web {'), 'guest web maps 300 hugepages of 2M, over its share of 128']]);
        s.hugepages[0].users[0].used_pages = 128;
        expect(liveDiagnostics(model, s)).toEqual([]);
    });
});

describe('live hover', () => {
    it('shows a port\'s counters and one row per queue while deployed, nothing otherwise', () => {
        const s = healthy();
        s.ports[0].queues[1].drops = 3;
        const md = liveHover({ kind: 'port', id: 'web.eth0' }, s)!;
        expect(md).toContain('link **up**');
        expect(md.split('\n').filter((l) => /^\| \d+ \|/.test(l))).toHaveLength(2);
        expect(md).toMatch(/\| 1 \| - \| - \| - \| - \| 5 \| 5 \| 3 \|/);
        expect(liveHover({ kind: 'vm', vm: 'web' }, s)).toContain('**vm web**: running (tcg)');
        expect(liveHover({ kind: 'port', id: 'web.eth0' }, { ...s, deployed: false })).toBeUndefined();
    });
});

describe('live diagnostics across hosts', () => {
    const mhText = readFileSync('examples/multi-host.vtopo', 'utf8')
        .replace('host h3 { netns  underlay 172.31.0.3/24 }', 'host h3 { ssh "root@172.31.0.3"  underlay 172.31.0.3/24  uplink af_packet "eth1" }');
    const mhLines = mhText.split('\n');
    const mhLine = (needle: string) => mhLines.findIndex((l) => l.includes(needle));
    let campus: TopologyModel;
    beforeAll(async () => {
        const parse = parseHelper<Model>(createVtopoServices(EmptyFileSystem).Vtopo);
        [campus] = documentModels((await parse(mhText)).parseResult.value, 'file:///x/campus.vtopo', '/x/campus.vtopo');
    });

    type F = NonNullable<Status['fabric']>;
    const tunnel = (peer: string, link: 'up' | 'down' = 'up') => ({ port: `ovn-${peer}-0`, type: 'geneve', remote_ip: `172.31.0.${peer.slice(1)}`, peer, link });
    function fabricStatus(over: (f: F) => void = () => undefined): Status {
        const f: F = {
            central: { kind: 'private', nb: true, sb: true, northd: true },
            hosts: [
                { name: 'h1', chassis: 'campus-h1', chassis_registered: true, controller: 'running', ovs: true, tunnels: [tunnel('h2'), tunnel('h3')] },
                { name: 'h2', chassis: 'campus-h2', chassis_registered: true, controller: 'running', ovs: true, tunnels: [tunnel('h1'), tunnel('h3')] },
                { name: 'h3', chassis: 'campus-h3', chassis_registered: true, controller: 'remote', reachable: true, ovs: false, tunnels: [] },
            ],
            ports: ['a.eth0@h1', 'b.eth0@h2', 'c.eth0@h3'].map((x) => {
                const [name, host] = x.split('@');
                return { name, switch: name === 'c.eth0' ? 'db' : 'web', vm: name[0], host, up: true, chassis: `campus-${host}`, on_planned_chassis: true };
            }),
        };
        over(f);
        return {
            topology: 'campus', file: '/x/campus.vtopo', deployed: true, at: 'now',
            datapaths: [{ kind: 'ovs', running: true, mode: 'fabric' }],
            vms: [{ name: 'a', state: 'running' }, { name: 'b', state: 'running' }],
            ports: [port('a.eth0', { datapath: 'ovs', queues: [] }), port('b.eth0', { datapath: 'ovs', queues: [] })],
            fabric: f,
        };
    }

    it('a healthy fabric has none', () => {
        expect(liveDiagnostics(campus, fabricStatus())).toEqual([]);
    });

    it('a stopped ovn-controller, an unregistered chassis, a tunnel down and an unreachable ssh host land on the host lines', () => {
        const d = liveDiagnostics(campus, fabricStatus((f) => {
            f.hosts[1].controller = 'stopped';
            f.hosts[0].tunnels[0].link = 'down';
            f.hosts[2].reachable = false;
            f.hosts[2].chassis_registered = false;
            f.hosts[2].error = 'ssh: connect to host 172.31.0.3 port 22: Connection timed out';
        }));
        const at = (code: string) => d.filter((x) => x.code === code).map((x) => [x.range.start.line, x.message]);
        expect(at('chassis-down')).toEqual([
            [mhLine('host h2'), expect.stringContaining('host h2: ovn-controller is not running')],
            [mhLine('host h3'), expect.stringContaining('chassis campus-h3 is not registered')],
        ]);
        expect(at('tunnel-down')).toEqual([[mhLine('host h1'), 'host h1: the geneve tunnel to h2 (172.31.0.2) is down']]);
        expect(at('host-unreachable')).toEqual([[mhLine('host h3'), expect.stringMatching(/host h3 does not answer over ssh \(root@172\.31\.0\.3\): ssh: connect .* timed out/)]]);
    });

    it('a logical port not up, or bound on another chassis, is a warning on its port line; not for a guest that is down', () => {
        const d = liveDiagnostics(campus, fabricStatus((f) => {
            f.ports[1].up = false;
            delete f.ports[1].chassis;
            f.ports[2].on_planned_chassis = false;
            f.ports[2].chassis = 'campus-h1';
        }));
        expect(d.filter((x) => x.code === 'port-not-bound').map((x) => [x.range.start.line, x.message])).toEqual([
            [mhLine('vm b '), 'logical port b.eth0 is not up: no chassis has bound it (is ovn-controller on host h2 running?)'],
            [mhLine('vm c '), 'logical port c.eth0 is bound on chassis campus-h1, not on host h3\'s'],
        ]);
        const down = fabricStatus((f) => { f.ports[0].up = false; });
        down.vms[0] = { name: 'a', state: 'crashed', reason: 'killed' };
        expect(liveDiagnostics(campus, down).map((x) => x.code)).toEqual(['guest-exited']);
    });
});
