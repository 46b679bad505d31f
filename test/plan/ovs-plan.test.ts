/**
 * The OvS part of the plan: a private OvS by default, an existing one when
 * `host { ovsdb }` or `--ovsdb` names its database; and plan messages by
 * severity (the TCG fallback is a warning), as plan and deploy show them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkText } from '../../src/language/load.js';
import { compilePlan, socketsOf, topologyOf } from '../../src/plan/compile.js';
import type { HostFacts, Plan } from '../../src/core/plan.js';
import { VtopoError, type ProgressEvent } from '../../src/core/api.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { fakeWorld, type FakeWorld } from '../runtime/fakes.js';

const SYSTEM_DB = 'unix:/var/run/openvswitch/db.sock';

const lab = (hostExtra = '', datapath = 'ovs') => `topology lab {
  host { cores 0-1  memory 4G  hugepages 1G  poll-cores 1  ${hostExtra} }
  bridge br0 { datapath ${datapath} }
  vm a { memory 256M  port eth0 { bridge br0  ip 10.0.0.1/24 } }
  vm b { memory 256M  port eth0 { bridge br0  ip 10.0.0.2/24 } }
}`;

function facts(over: Partial<HostFacts> = {}): HostFacts {
    return { runRoot: '/run/vtopo', kvmUsable: false, kvmReason: 'no vmx/svm in /proc/cpuinfo', sourceFile: '/src/lab.vtopo', onlineCpus: [0, 1], ...over };
}

async function planOf(text: string, over: Partial<HostFacts> = {}): Promise<Plan> {
    const r = await checkText(text, 'lab.vtopo');
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    return compilePlan(topologyOf(r.model!, 'lab.vtopo'), facts(over));
}

describe('the OvS datapath plan', () => {
    it('is a private instance by default: own db socket, netns, file prefix, PMD mask and hugepage dir', async () => {
        const p = await planOf(lab());
        expect(p.datapaths.ovs).toMatchObject({
            mode: 'private', dbSocket: '/run/vtopo/lab/ovs/db.sock', runDir: '/run/vtopo/lab/ovs',
            pmdCpuMask: '0x2', socketMemMb: 128, hugepageDir: '/run/vtopo/lab/hugepages', rxqPlacement: 'pinned',
        });
        expect(p.datapaths.ovs!.netns).toBe(p.datapaths.ovs!.filePrefix);
        expect(socketsOf(p).map((s) => s.what)).toEqual(expect.arrayContaining(['the OvS database', 'ovs-vswitchd control']));
    });

    it('host { ovsdb } puts the ovs bridges on that existing OvS, with none of the private settings', async () => {
        const p = await planOf(lab(`ovsdb "${SYSTEM_DB}"`));
        // Its PMD set is shared: OvS's own scheduler places our queues (pinning one would isolate a PMD).
        expect(p.datapaths.ovs).toEqual({ mode: 'existing', dbSocket: '/var/run/openvswitch/db.sock', runDir: '/run/vtopo/lab/ovs', rxqPlacement: 'scheduler' });
        expect(p.notes).toContain('ovs bridges go on the existing OvS at /var/run/openvswitch/db.sock; vtopo changes only the bridges it creates there');
        // Not ours to create or clean up: the socket checks leave it out.
        expect(socketsOf(p).filter((s) => s.what.includes('OvS') || s.what.includes('ovs-vswitchd'))).toEqual([]);
        // Ports, queues and the rest of the plan do not depend on whose OvS it is.
        const priv = await planOf(lab());
        expect(p.vms).toEqual(priv.vms);
        expect(p.bridges).toEqual(priv.bridges);
    });

    it('--ovsdb (HostFacts.ovsdb) overrides the file, and makes a private plan existing', async () => {
        const over = { ovsdb: 'unix:/run/other//ovs/db.sock' };
        expect((await planOf(lab(`ovsdb "${SYSTEM_DB}"`), over)).datapaths.ovs).toMatchObject({ mode: 'existing', dbSocket: '/run/other/ovs/db.sock' });
        expect((await planOf(lab(), over)).datapaths.ovs).toMatchObject({ mode: 'existing', dbSocket: '/run/other/ovs/db.sock' });
    });

    it('refuses a --ovsdb that is not unix:/absolute/path with a VtopoError and a fix', async () => {
        for (const bad of ['tcp:127.0.0.1:6640', 'unix:db.sock', '/var/run/openvswitch/db.sock']) {
            const err = await planOf(lab(), { ovsdb: bad }).catch((e: unknown) => e);
            expect(err, bad).toBeInstanceOf(VtopoError);
            expect((err as VtopoError).code).toBe('ovsdb-invalid');
            expect((err as VtopoError).message).toContain(`--ovsdb "${bad}"`);
            expect((err as VtopoError).fix).toContain('unix:/var/run/openvswitch/db.sock');
        }
    });

    it('has no OvS datapath at all when no bridge is on ovs, whatever ovsdb says', async () => {
        const p = await planOf(lab('', 'embedded'), { ovsdb: SYSTEM_DB });
        expect(p.datapaths.ovs).toBeUndefined();
    });
});

describe('plan messages by severity', () => {
    it('the TCG fallback of accel auto is a warning; the vectors=0 explanation stays a note', async () => {
        const p = await planOf(lab());
        expect(p.warnings).toEqual(['accel auto chose tcg (guests boot slower): KVM is not usable here: no vmx/svm in /proc/cpuinfo']);
        expect(p.notes.join('\n')).toMatch(/vectors=0/);
        expect(p.notes.join('\n')).not.toMatch(/chose tcg/);
        const kvm = await planOf(lab(), { kvmUsable: true, kvmReason: undefined });
        expect(kvm.warnings).toEqual([]);
    });
});

describe('runtime: --ovsdb and warnings through plan, deploy, status and destroy', () => {
    let dir: string;
    let file: string;
    let w: FakeWorld;
    let rt: ReturnType<typeof createRuntime>;
    /** The ovs datapath plan every backend call saw. */
    let seen: string[];

    beforeEach(() => {
        dir = mkdtempSync('/tmp/vtovs-');
        file = path.join(dir, 'lab.vtopo');
        writeFileSync(file, lab().replace('hugepages 1G', ''));
        w = fakeWorld(path.join(dir, 'run'));
        seen = [];
        const backend = w.deps.backend;
        w.deps.backend = async (kind) => {
            const b = await backend(kind);
            const record = (p: Plan) => { if (p.datapaths.ovs) seen.push(`${p.datapaths.ovs.mode} ${p.datapaths.ovs.dbSocket}`); };
            return { ...b, start: async (p) => { record(p); return b.start(p); }, stop: async (p) => { record(p); return b.stop(p); }, snapshot: async (p) => { record(p); return b.snapshot(p); } };
        };
        rt = createRuntime(w.deps);
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('plan lists warnings apart from notes; deploy reports the TCG fallback as a warning', async () => {
        const r = await rt.plan(file);
        expect(r.warnings).toEqual([expect.stringMatching(/^accel auto chose tcg/)]);
        expect(r.text).toMatch(/\nwarnings:\n {2}- accel auto chose tcg \(guests boot slower\)/);
        expect(r.text).toMatch(/\nnotes:\n {2}- TCG guests use virtio-net vectors=0/);
        const events: ProgressEvent[] = [];
        await rt.deploy(file, { onProgress: (e) => events.push(e) });
        const check = events.filter((e) => e.step === 'check' && e.phase === 'info').map((e) => e.message);
        expect(check).toContain('warning: accel auto chose tcg (guests boot slower): KVM is not usable here');
        expect(check.filter((m) => m.startsWith('warning: '))).toHaveLength(1);
    });

    it('deploy --ovsdb starts the OvS datapath in existing mode; status and destroy reach it through --ovsdb', async () => {
        await rt.deploy(file, { ovsdb: SYSTEM_DB });
        expect(seen[0]).toBe('existing /var/run/openvswitch/db.sock');
        seen.length = 0;
        // The OvS moved its socket: status goes where the flag says.
        await rt.status(file, { ovsdb: 'unix:/run/openvswitch/db.sock' });
        expect(seen).toEqual(['existing /run/openvswitch/db.sock']);
        seen.length = 0;
        await rt.destroy(file, { ovsdb: 'unix:/run/openvswitch/db.sock' });
        expect(seen).toEqual(['existing /run/openvswitch/db.sock']);
    });

    it('status --ovsdb on a deployment on its private OvS is refused with a fix', async () => {
        await rt.deploy(file);
        expect(seen[0]).toBe(`private ${path.join(dir, 'run', 'lab', 'ovs', 'db.sock')}`);
        const err = await rt.status(file, { ovsdb: SYSTEM_DB }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(VtopoError);
        expect(err).toMatchObject({ code: 'ovsdb-mismatch', fix: expect.stringContaining('drop --ovsdb') });
        // Without the flag it still works.
        await rt.status(file);
    });
});

describe('the --ovsdb command-line option', () => {
    it('is taken out of the arguments in both spellings and checked', async () => {
        const { takeOvsdb } = await import('../../src/cli/options.js');
        expect(takeOvsdb(['lab.vtopo', '--ovsdb', SYSTEM_DB, '--json'])).toEqual({ rest: ['lab.vtopo', '--json'], ovsdb: SYSTEM_DB });
        expect(takeOvsdb([`--ovsdb=${SYSTEM_DB}`, 'lab.vtopo'])).toEqual({ rest: ['lab.vtopo'], ovsdb: SYSTEM_DB });
        expect(takeOvsdb(['lab.vtopo'])).toEqual({ rest: ['lab.vtopo'] });
        expect(takeOvsdb(['lab.vtopo', '--ovsdb']).error).toMatch(/needs a value such as unix:\/var\/run\/openvswitch\/db.sock/);
        expect(takeOvsdb(['lab.vtopo', '--ovsdb', 'tcp:1.2.3.4:6640']).error).toMatch(/not the unix socket .* write unix: and an absolute path/);
    });
});
