/**
 * `vtopo capture` on OvS: a Mirror of the port (both directions) whose
 * output is an internal port vtopo adds for the capture. On the netdev
 * datapath an internal port is a tap where ovs-vswitchd runs (the private
 * OvS's netns); tcpdump reads it and writes the pcap to its stdout. OvS
 * discards whatever arrives on a mirror's output port, and tcpdump keeps
 * only what OvS sent into the tap (-Q in), so every frame is one the port saw.
 * Mirror and port go when the capture stops.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { Plan } from '../../core/plan.js';
import { VtopoError } from '../../core/api.js';
import { sleep } from '../../host/procs.js';
import type { CaptureStream } from '../types.js';
import { run } from './exec.js';
import { withClient } from './instance.js';
import { K_ID, K_KIND, K_TOPOLOGY, marks } from './names.js';
import { transactAndWait, VSWITCH_DB } from './ovsdb/cfg.js';
import { map, namedUuid, op, set, type Condition, type Mutation, type Uuid } from './ovsdb/values.js';
import { ovsPaths } from './paths.js';

const oursOf = (plan: Plan, kind: string, id: string): Condition =>
    ['external_ids', 'includes', map({ [K_TOPOLOGY]: plan.topology, [K_KIND]: kind, [K_ID]: id })];

export async function openOvsCapture(plan: Plan, portId: string): Promise<CaptureStream> {
    const kind = plan.nics.some((n) => n.name === portId) ? 'nic' : 'vm-port';
    // 15 bytes at most (a Linux interface name), unique per capture.
    const tap = `vcap${createHash('sha1').update(`${plan.topology}:${portId}:${process.pid}:${Date.now()}`).digest('hex').slice(0, 8)}`;
    const p = ovsPaths(plan);
    const inNs = p.mode === 'private' ? ['ip', 'netns', 'exec', p.netns] : [];
    const ipLink = p.mode === 'private' ? ['-n', p.netns, 'link'] : ['link'];

    const bridge = await withClient(plan, async (c) => {
        const port = (await c.transact(VSWITCH_DB, [op.select('Port', [oursOf(plan, kind, portId)], ['_uuid'])]))[0].rows?.[0];
        if (!port) throw new VtopoError(`port ${portId} is not in OvS`, `run \`vtopo deploy ${plan.sourceFile}\` to add it`, 'no-such-port');
        const br = (await c.transact(VSWITCH_DB, [op.select('Bridge', [['ports', 'includes', port._uuid]], ['_uuid', 'name'])]))[0].rows?.[0];
        if (!br) throw new VtopoError(`port ${portId} is on no OvS bridge`, `run \`vtopo deploy ${plan.sourceFile}\``, 'no-such-port');
        // Not a topology object: inventory and teardown (vtopo-kind bridge/vm-port/nic/link) pass it by.
        const ext = map({ ...marks(plan, 'link', portId, String(br.name)), [K_KIND]: 'capture' });
        const portUuid = port._uuid as Uuid;
        await transactAndWait(c, [
            op.insert('Interface', { name: tap, type: 'internal', external_ids: ext }, 'ci'),
            op.insert('Port', { name: tap, interfaces: namedUuid('ci'), external_ids: ext }, 'cp'),
            op.insert('Mirror', { name: tap, select_src_port: set([portUuid]), select_dst_port: set([portUuid]), output_port: namedUuid('cp'), external_ids: ext }, 'cm'),
            op.mutate('Bridge', [['_uuid', '==', br._uuid as Uuid]], [['ports', 'insert', set([namedUuid('cp')])], ['mirrors', 'insert', set([namedUuid('cm')])]]),
        ]);
        return br._uuid as Uuid;
    });
    const remove = () => withClient(plan, async (c) => {
        const rows = (await c.transact(VSWITCH_DB, [op.select('Port', [['name', '==', tap]], ['_uuid'])]))[0].rows ?? [];
        const mirrors = (await c.transact(VSWITCH_DB, [op.select('Mirror', [['name', '==', tap]], ['_uuid'])]))[0].rows ?? [];
        const mutations: Mutation[] = [];
        if (rows.length) mutations.push(['ports', 'delete', set(rows.map((r) => r._uuid as Uuid))]);
        if (mirrors.length) mutations.push(['mirrors', 'delete', set(mirrors.map((r) => r._uuid as Uuid))]);
        if (mutations.length) await transactAndWait(c, [op.mutate('Bridge', [['_uuid', '==', bridge]], mutations)]);
    });

    try {
        let seen = false;
        for (let i = 0; i < 50 && !seen; i++) {
            seen = (await run('ip', [...ipLink, 'show', tap])).code === 0;
            if (!seen) await sleep(100);
        }
        if (!seen) throw new VtopoError(`OvS did not create the capture port ${tap}`, `see ${p.vswitchdLog}`, 'capture-failed');
        // Its own IPv6 chatter would be discarded by OvS anyway; keep the tap quiet.
        await run(inNs[0] ?? 'sysctl', inNs.length ? [...inNs.slice(1), 'sysctl', '-qw', `net.ipv6.conf.${tap}.disable_ipv6=1`] : ['-qw', `net.ipv6.conf.${tap}.disable_ipv6=1`]);
        const up = await run('ip', [...ipLink, 'set', tap, 'up']);
        if (up.code !== 0) throw new VtopoError(`cannot bring the capture port ${tap} up: ${up.stderr.trim()}`, 'run vtopo as root', 'capture-failed');
    } catch (e) {
        await remove().catch(() => undefined);
        throw e;
    }

    const argv = [...inNs, 'tcpdump', '-U', '-n', '-Q', 'in', '-s', '0', '-w', '-', '-i', tap];
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => { stderr += d; });
    const exited = new Promise<number | null>((resolve) => {
        child.on('error', (e) => { stderr += e.message; resolve(null); });
        child.on('close', (code) => resolve(code));
    });
    // tcpdump says "listening on …" once it captures: frames before that would be lost.
    const ready = Date.now() + 5000;
    while (!/listening on/.test(stderr) && Date.now() < ready && child.exitCode === null) await sleep(50);
    if (!/listening on/.test(stderr)) {
        child.kill('SIGKILL');
        await exited;
        await remove().catch(() => undefined);
        throw new VtopoError(`tcpdump could not capture on ${tap}: ${stderr.trim() || 'no answer'}`,
            /not found|ENOENT/.test(stderr) ? 'install tcpdump (apt-get install tcpdump)' : 'run vtopo as root', 'capture-failed');
    }
    let stopped = false;
    return {
        chunks: child.stdout as AsyncIterable<Buffer>,
        async stop() {
            if (stopped) return;
            stopped = true;
            // SIGINT: tcpdump writes what it buffered and exits.
            child.kill('SIGINT');
            await Promise.race([exited, sleep(3000)]);
            if (child.exitCode === null) child.kill('SIGKILL');
            await remove().catch(() => undefined);
        },
    };
}
