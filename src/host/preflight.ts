/** Checks before a deploy changes anything: each failure names its cause and fix. */
import { existsSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Action } from '../core/actions.js';
import type { DatapathKind, HostFacts, Plan } from '../core/plan.js';
import { VtopoError } from '../core/api.js';

/** What preflight asks of the runtime's seam (src/runtime/deps.ts RuntimeDeps satisfies it). */
export interface PreflightDeps {
    vms: { qemuBinary(): string };
    hostFacts(sourceFile: string): HostFacts;
    /** Throws the backend's "not available" VtopoError. */
    backend(kind: DatapathKind): Promise<unknown>;
}

export function onPath(binary: string): boolean {
    if (binary.includes('/')) return existsSync(binary);
    return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(path.join(d, binary)));
}

/** True when something accepts connections on the unix socket. */
function listening(sock: string): Promise<boolean> {
    return new Promise((resolve) => {
        const c = net.connect(sock);
        const done = (v: boolean) => { c.destroy(); resolve(v); };
        c.once('connect', () => done(true));
        c.once('error', () => done(false));
        setTimeout(() => done(false), 1000).unref();
    });
}

export async function preflight(plan: Plan, actions: Action[], deps: PreflightDeps): Promise<void> {
    const starting = actions.flatMap((a) => (a.kind === 'start-vm' ? [a.vm] : []));
    if (starting.length) {
        const qemu = deps.vms.qemuBinary();
        if (!onPath(qemu)) {
            throw new VtopoError(
                `QEMU is not installed: ${qemu} is not on PATH`,
                'install it with `apt-get install qemu-system-x86` (bash scripts/setup.sh does this)',
                'no-qemu',
            );
        }
    }
    for (const vm of starting) {
        if (vm.accel === 'kvm' && vm.accelRequested === 'kvm' && !deps.hostFacts(plan.sourceFile).kvmUsable) {
            const why = deps.hostFacts(plan.sourceFile).kvmReason;
            throw new VtopoError(`vm ${vm.name} asks for accel kvm, but KVM is not usable here${why ? `: ${why}` : ''}`,
                `write \`accel auto\` (or \`accel tcg\`) for vm ${vm.name}`, 'no-kvm');
        }
    }
    // A socket path that answers belongs to a live process we did not start for this deploy.
    const stopping = new Set(actions.flatMap((a) => (a.kind === 'stop-vm' ? [a.vm.name] : [])));
    for (const vm of starting.filter((v) => !stopping.has(v.name))) {
        for (const [what, sock] of [['QMP', vm.qmpSocket], ...vm.ports.map((p) => [`port ${p.id}`, p.socketPath])] as const) {
            if (!existsSync(sock)) continue;
            if (await listening(sock)) {
                throw new VtopoError(
                    `the ${what} socket of vm ${vm.name} is in use by another process: ${sock}`,
                    `stop what holds it (\`vtopo destroy ${plan.sourceFile}\` if it is a leftover of this topology; \`ss -xlp | grep ${path.basename(sock)}\` shows the process)`,
                    'socket-in-use',
                );
            }
            rmSync(sock, { force: true }); // stale: nobody listens
        }
    }
    for (const kind of new Set(actions.flatMap((a) => ('datapath' in a ? [a.datapath] : [])))) {
        await deps.backend(kind); // throws the "not available" VtopoError early
    }
}
