/**
 * Security properties of what vtopo puts on the host and what it hands out:
 * no shell anywhere, names from the file validated before they become
 * paths or interface names, private run directories and owner-only
 * sockets, a control socket only its owner can use, and exports that carry
 * neither secrets nor host paths the file did not name.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planProblems } from '../fuzz/lsp-case.js';
import { DatapathProc } from '../support/datapath-proc.js';
import { handFabricPlan } from '../support/fabric-plan.js';
import { checkText } from '../../src/language/load.js';
import { compilePlan, topologyOf } from '../../src/plan/compile.js';
import { MAX_IFNAME } from '../../src/plan/derive.js';
import { exportCases, exportPlan, EXPORT_FORMATS } from '../../src/plan/export/index.js';
import type { Plan } from '../../src/core/plan.js';
import { VtopoError } from '../../src/core/api.js';
import { projectRoot, selfExecArgv } from '../../src/host/self-exec.js';
import { modeProblems } from '../runtime/modes.js';
import { tempDir } from '../support/wait.js';
import { run } from '../support/run.js';

const dir = tempDir('security');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sources(): { file: string; text: string }[] {
    const out: { file: string; text: string }[] = [];
    const walk = (d: string) => {
        for (const n of readdirSync(d)) {
            const p = path.join(d, n);
            if (n === 'generated' || n === 'node_modules' || n === 'fuzz') continue;
            if (statSync(p).isDirectory()) walk(p);
            else if (/\.(ts|mjs|cjs|js)$/.test(n)) out.push({ file: p, text: readFileSync(p, 'utf8') });
        }
    };
    for (const d of ['src', 'server', 'guest', 'bin', 'scripts']) if (existsSync(d)) walk(d);
    return out;
}

const FACTS = { runRoot: '/run/vtopo-sec', kvmUsable: false, onlineCpus: [0, 1] };

/** The plan of a text; `strict` also wants the checker silent (the coverage fixture has deliberate errors). */
async function planOf(text: string, sourceFile = '/home/alice-secret/lab/topo.vtopo', strict = true): Promise<Plan> {
    const r = await checkText(text);
    if (strict) expect(r.diagnostics.filter((d) => d.severity === 'error'), text).toEqual([]);
    return compilePlan(topologyOf(r.model!, sourceFile), { ...FACTS, sourceFile });
}

describe('processes are launched without a shell', () => {
    it('no source asks for a shell or passes a command line as one string', () => {
        const offences: string[] = [];
        for (const { file, text } of sources()) {
            text.split('\n').forEach((line, i) => {
                const at = `${file}:${i + 1}: ${line.trim()}`;
                if (/shell\s*:\s*(true|['"`])/.test(line)) offences.push(at);
                // child_process.exec/execSync take a shell command string.
                if (/\b(execSync|exec)\s*\(\s*[`'"]/.test(line) && !/\.\s*exec\s*\(/.test(line)) offences.push(at);
                if (/\b(spawn|spawnSync|execFile|execFileSync)\s*\(\s*['"`](\/bin\/)?(ba|da|z)?sh['"`]\s*,\s*\[\s*['"`]-c/.test(line)) offences.push(at);
            });
            if (/import\s*\{[^}]*\bexec(Sync)?\b[^}]*\}\s*from\s*['"](node:)?child_process['"]/.test(text)) offences.push(`${file}: imports exec/execSync`);
        }
        expect(offences).toEqual([]);
    });

    it('the check sees a shell when there is one (it can fail)', () => {
        const bad = ["spawn('sh', ['-c', cmd])", "execSync(`ip link del ${x}`)", "spawn(cmd, args, { shell: true })"];
        expect(bad.filter((l) => /shell\s*:\s*(true|['"`])/.test(l) || /\b(execSync|exec)\s*\(\s*[`'"]/.test(l) || /\b(spawn|spawnSync|execFile|execFileSync)\s*\(\s*['"`](\/bin\/)?(ba|da|z)?sh['"`]\s*,\s*\[\s*['"`]-c/.test(l))).toEqual(bad);
    });
});

describe('names from the file are validated before they become paths or interface names', () => {
    it.each([
        ['a path in a VM name', 'vm ../../etc { cpus 1 memory 256M }'],
        ['a slash in a bridge name', 'bridge br/0'],
        ['a quoted name', 'bridge "br0; rm -rf /"'],
        ['a name with a dot', 'vm a.b { cpus 1 memory 256M }'],
    ])('%s does not parse', async (_what, element) => {
        const r = await checkText(`topology t {\n  host { cores 0-1  memory 4G  poll-cores 1 }\n  bridge ok\n  ${element}\n}\n`);
        expect(r.diagnostics.map((d) => d.code)).toContain('syntax-error');
    });

    it('long names give tap names within IFNAMSIZ and socket paths inside the run directory', async () => {
        const long = 'n'.repeat(60);
        const plan = await planOf(`topology ${'t'.repeat(30)} {
  host { cores 0-1  memory 4G  poll-cores 1 }
  bridge br0
  nic ${long} { driver tap  bridge br0 }
  nic ${long}2 { driver tap  bridge br0 }
  vm ${'v'.repeat(20)} { cpus 1  memory 256M  port ${'p'.repeat(10)} { bridge br0 } }
}`);
        const taps = plan.nics.map((n) => (n.driver.kind === 'tap' ? n.driver.ifname : ''));
        for (const t of taps) expect(t.length).toBeLessThanOrEqual(MAX_IFNAME);
        expect(new Set(taps).size).toBe(2);
        expect(planProblems(plan, FACTS.runRoot)).toEqual([]);
    });

    it('names too long for a unix socket path are refused with a VtopoError, not an OS error at deploy', async () => {
        const r = await checkText(`topology t {\n  host { cores 0-1  memory 4G  poll-cores 1 }\n  bridge br0\n  vm ${'v'.repeat(90)} { cpus 1  memory 256M  port eth0 { bridge br0 } }\n}\n`);
        const errors = r.diagnostics.filter((d) => d.severity === 'error');
        if (errors.length === 0) {
            let caught: unknown;
            try { compilePlan(topologyOf(r.model!, '/x/t.vtopo'), { ...FACTS, sourceFile: '/x/t.vtopo' }); } catch (e) { caught = e; }
            expect(caught).toBeInstanceOf(VtopoError);
            expect((caught as VtopoError).message).toMatch(/socket path/);
        }
    });

    it.each(['eth1,qpairs=64', '-f', '../../etc/x', 'a'.repeat(16), 'eth 1', '$(reboot)', '.', '..', ''])('af_packet interface "%s" is refused by the checker and by compilePlan', async (iface) => {
        const text = `topology t {\n  host { cores 0-1  memory 4G  poll-cores 1 }\n  bridge br0\n  nic up { driver af_packet ${JSON.stringify(iface)}  bridge br0 }\n}\n`;
        const r = await checkText(text);
        expect(r.diagnostics.map((d) => d.code)).toContain('iface-invalid');
        expect(() => compilePlan(topologyOf(r.model!, '/x/t.vtopo'), { ...FACTS, sourceFile: '/x/t.vtopo' })).toThrow(VtopoError);
    });

    it('a PCI address cannot carry a path', async () => {
        const r = await checkText('topology t {\n  host { cores 0-1  memory 4G  hugepages 1G  poll-cores 1 }\n  bridge br0 { datapath ovs }\n  nic up { driver pci "../../../sys/bus"  bridge br0 }\n}\n');
        expect(r.diagnostics.map((d) => d.code)).toContain('pci-address-invalid');
    });
});

describe('run directories, sockets and the control socket', () => {
    const runRoot = path.join(dir, 'run');
    const file = path.join(dir, 'sec.vtopo');
    const vtopo = (...args: string[]) => {
        const [node, ...pre] = selfExecArgv();
        return run(node, [...pre, ...args], { timeout: 240_000, env: { ...process.env, VTOPO_RUN_ROOT: runRoot } });
    };
    afterAll(async () => { await vtopo('destroy', file); }, 120_000);

    it('a deploy with a guest leaves only 0700 directories, 0600 sockets and no world-writable file', async () => {
        // eth0: the switch is the vhost client (QEMU binds the socket); eth1: the switch binds it.
        writeFileSync(file, `topology sec {
  host { cores 0-1  memory 1G  poll-cores 1 }
  bridge br0 { datapath embedded }
  nic up { driver tap  bridge br0 }
  vm g {
    cpus 1  memory 256M
    port eth0 { bridge br0 }
    port eth1 { bridge br0  vhost server }
  }
}
`);
        const d = await vtopo('deploy', file);
        expect(d.status, d.stdout + d.stderr).toBe(0);
        const { bad, sockets } = modeProblems(runRoot, { exactSockets: true });
        expect(bad).toEqual([]);
        // Ours (the control socket, eth1's listener) and QEMU's (QMP, console, eth0).
        const plan = JSON.parse(readFileSync(path.join(runRoot, 'sec', 'state', 'state.json'), 'utf8')).deployed as Plan;
        const vm = plan.vms[0];
        const expected = [vm.qmpSocket, vm.consoleSocket, ...vm.ports.map((p) => p.socketPath)].map((p) => path.relative(runRoot, p));
        for (const e of expected) expect(sockets).toContain(e);
        expect(sockets.length).toBeGreaterThan(expected.length);
    }, 300_000);

    it('the datapath control socket refuses another user, even when the path is reachable', async () => {
        const dpDir = path.join(dir, 'dp');
        mkdirSync(dpDir);
        const dp = new DatapathProc(dpDir);
        await dp.start();
        try {
            chmodSync(dpDir, 0o755); // let the other user reach the socket: only its own mode may stop them
            expect(statSync(dp.ctl).mode & 0o777).toBe(0o600);
            const probe = `require('net').connect(${JSON.stringify(dp.ctl)}).on('connect', () => { console.log('CONNECTED'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); });`;
            const out = await new Promise<string>((resolve) => {
                const c = spawn(process.execPath, ['-e', probe], { uid: 65534, gid: 65534 });
                let s = '';
                c.stdout.on('data', (d) => { s += d; });
                c.on('close', () => resolve(s.trim()));
            });
            expect(out).toBe('EACCES');
            // …while the owner still can.
            expect((await dp.status()).pid).toBe(dp.pid);
        } finally {
            await dp.stop();
        }
    }, 60_000);
});

describe('exports carry no secrets and no host paths the file did not name', () => {
    const SECRET = 'tok-3b9f0c-do-not-leak';
    const files = ['examples/two-vms.vtopo', 'examples/multi-queue.vtopo', 'examples/nic.vtopo', 'examples/ovs.vtopo', 'test/fixtures/lsp-coverage.vtopo'];

    it.each(files)('%s', async (f) => {
        process.env.VTOPO_TEST_SECRET = SECRET;
        try {
            const plan = await planOf(readFileSync(f, 'utf8'), undefined, false);
            const named = plan.vms.flatMap((v) => (v.image.kind === 'kernel' ? [v.image.kernel, v.image.initrd ?? ''] : v.image.kind === 'disk' ? [v.image.path] : [])).filter(Boolean);
            // Each format that applies (ovn-nbctl needs a topology across hosts; hostile names in one: below).
            expect(exportCases(plan).map((c) => c.format)).toEqual(EXPORT_FORMATS.filter((x) => x !== 'ovn-nbctl'));
            for (const { format, host } of exportCases(plan)) {
                let out = exportPlan(plan, format, { argv: (vm) => ['qemu-system-x86_64', '-name', vm.name], host });
                for (const n of named) out = out.split(n).join('<named>');
                expect(out, format).not.toContain(SECRET);
                expect(out, format).not.toContain('alice-secret');
                expect(out, format).not.toContain(projectRoot());
                if (process.env.HOME && process.env.HOME !== '/') expect(out, format).not.toContain(process.env.HOME + '/');
            }
        } finally {
            delete process.env.VTOPO_TEST_SECRET;
        }
    });

    it('hostile strings in the file stay inert when an exported script runs', async () => {
        const marker = path.join(dir, 'PWNED');
        const plan = await planOf(`topology inert {
  host { cores 0-1  memory 4G  poll-cores 1 }
  bridge br0
  vm a {
    cpus 1  memory 256M
    image kernel "k$(touch ${marker})" initrd "\`touch ${marker}\`" append "x'; touch ${marker}; echo '"
    port eth0 { bridge br0 }
  }
}`, path.join(dir, 'inert.vtopo'));
        const stubs = path.join(dir, 'stubs');
        mkdirSync(stubs, { recursive: true });
        for (const c of ['qemu-system-x86_64', 'ovs-vsctl', 'mkdir']) writeFileSync(path.join(stubs, c), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
        const v = plan.vms[0];
        const img = v.image.kind === 'kernel' ? v.image : undefined;
        const script = exportPlan(plan, 'qemu', { argv: () => ['qemu-system-x86_64', '-kernel', img!.kernel, '-initrd', img!.initrd!, '-append', img!.append!] });
        const r = spawnSync('/bin/sh', ['-c', script.replace(/ &$/gm, '')], { encoding: 'utf8', env: { PATH: `${stubs}:/usr/bin:/bin`, VTOPO_GUEST_KERNEL: 'k', VTOPO_GUEST_INITRD: 'i' } });
        expect(r.status, r.stderr).toBe(0);
        expect(existsSync(marker)).toBe(false);
    });

    it('hostile names in a plan across hosts stay inert, and exact, in the ovn-nbctl and per-host ovs-vsctl scripts', async () => {
        const marker = path.join(dir, 'PWNED-FABRIC');
        const evil = {
            web: `web$(touch ${marker})`,
            edge: `edge\`touch ${marker}\``,
            h2: `h2'; touch ${marker}; echo '`,
            xh: `xh"\n touch ${marker} \\"`,
        };
        // Every string of the plan naming them (paths too): as if the file had said so.
        let json = JSON.stringify(await handFabricPlan());
        for (const [from, to] of Object.entries(evil)) json = json.split(from).join(JSON.stringify(to).slice(1, -1));
        const plan = JSON.parse(json) as Plan;
        // The stub records each word it gets; asked for a router's routes, it answers with more hostile text.
        const log = path.join(dir, 'words');
        const stub = path.join(dir, 'ctl-stub');
        writeFileSync(stub, `#!/bin/sh\nfor a in "$@"; do printf '%s\\0' "$a"; done >> ${log}\n[ "$1" = --bare ] && echo '$(touch ${marker}) \`touch ${marker}\`'\nexit 0\n`, { mode: 0o755 });
        const cases = exportCases(plan).filter((c) => c.format === 'ovn-nbctl' || c.format === 'ovs-vsctl');
        expect(cases.map((c) => c.host ?? c.format)).toEqual(['h1', evil.h2, 'h3', 'ovn-nbctl']);
        for (const { format, host } of cases) {
            rmSync(log, { force: true });
            const script = exportPlan(plan, format, { argv: () => [], host });
            const r = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', NBCTL: stub, VSCTL: stub } });
            expect(r.status, `${format} ${host}: ${r.stderr}`).toBe(0);
            expect(existsSync(marker), `${format} ${host}`).toBe(false);
            const words = readFileSync(log, 'utf8').split('\0');
            if (format === 'ovn-nbctl') {
                expect(words).toContain(evil.web);
                expect(words).toContain(evil.edge);
                expect(words).toContain(`${evil.web}-${evil.edge}`);
                expect(words).toContain(`external_ids:vtopo-topology=${JSON.stringify(evil.xh)}`);
                expect(words).toContain(`external_ids:vtopo-host=${JSON.stringify(evil.h2)}`);
                // The answer reached set as plain words (split at blanks, never run).
                expect(words).toContain('$(touch');
                expect(words).toContain('`touch');
            } else {
                expect(words).toContain(`external_ids:system-id=${JSON.stringify(`${evil.xh}-${host}`)}`);
            }
        }
        // An existing OVN named by a hostile string, its Southbound supplied as one.
        const external = { ...plan, fabric: { ...plan.fabric!, central: { kind: 'external' as const, nb: `tcp:$(touch ${marker})\n touch ${marker}` } } };
        const script = exportPlan(external, 'ovs-vsctl', { argv: () => [], host: 'h1' });
        for (const remote of [undefined, `$(touch ${marker})`]) {
            rmSync(log, { force: true });
            const r = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', VSCTL: stub, ...(remote ? { VTOPO_OVN_REMOTE: remote } : {}) } });
            expect(r.status === 0, r.stderr).toBe(remote !== undefined);
            expect(existsSync(marker)).toBe(false);
            if (remote) expect(readFileSync(log, 'utf8').split('\0')).toContain(`external_ids:ovn-remote=${remote}`);
        }
    });
});
