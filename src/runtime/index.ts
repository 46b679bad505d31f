/**
 * The runtime's public entry points, bound to the real backends: the CLI
 * and the language server call these and nothing else.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { guestCacheRoot, resolveBootImage } from '../backends/qemu/index.js';
import { backendFor } from '../backends/registry.js';
import { exportPlan, type ExportFormat } from '../plan/export/index.js';
import type { RuntimeOptions, VtopoRuntime } from '../core/api.js';
import type { RuntimeDeps } from './deps.js';
import { gatherHostFacts } from '../host/facts.js';
import { hostHugepageCount, hugetlbUsedKb, releaseHugepages, reserveHugepages, resizeHugepages } from '../host/hugepages.js';
import { createRuntime } from './runtime.js';
import type { Status } from '../core/status.js';
import { qemuVmLayer } from './vm-layer.js';
import type { ImpairmentPlan } from '../core/plan.js';

export type { ExportFormat } from '../plan/export/index.js';
import { VtopoError } from '../core/api.js';
export { VtopoError };
export type { DeployResult, PlanResult, ProgressEvent, RuntimeOptions, VerifyResult, VtopoRuntime } from '../core/api.js';
export type { Status } from '../core/status.js';

let factsCache: { file: string; at: number; facts: ReturnType<typeof gatherHostFacts> } | undefined;

export function realDeps(): RuntimeDeps {
    return {
        backend: backendFor,
        vms: qemuVmLayer(),
        // Facts change rarely; a watch loop asks every second.
        hostFacts: (file) => {
            if (factsCache && factsCache.file === file && Date.now() - factsCache.at < 5000) return factsCache.facts;
            factsCache = { file, at: Date.now(), facts: gatherHostFacts(file) };
            return factsCache.facts;
        },
        hugepages: {
            reserve: reserveHugepages, release: releaseHugepages, resize: resizeHugepages,
            observe: (sizeKb, users) => ({
                host: hostHugepageCount(sizeKb),
                usedKb: Object.fromEntries(Object.entries(users).map(([who, u]) => [who, hugetlbUsedKb(u.pid, u.pathIncludes)[sizeKb] ?? 0])),
            }),
        },
        readyTimeoutMs: Number(process.env.VTOPO_READY_TIMEOUT_MS) || 240_000,
    };
}

const deps = realDeps();
const impl = createRuntime(deps);

export const runtime: VtopoRuntime = impl;
export const plan = (file: string, opts?: RuntimeOptions) => impl.plan(file, opts);
export const deploy = (file: string, opts?: RuntimeOptions) => impl.deploy(file, opts);
export const destroy = (file: string, opts?: RuntimeOptions) => impl.destroy(file, opts);
export const status = (file: string, opts?: RuntimeOptions): Promise<Status> => impl.status(file, opts);
export const verify = (file: string, opts?: RuntimeOptions) => impl.verify(file, opts);
/** `vtopo impair`: a port's or link's impairment set live (src/runtime/impair.ts); `{}` clears it. */
export const impair = (file: string, target: string, spec: ImpairmentPlan) => impl.impair(file, target, spec);
export const watch = (file: string, onStatus: (s: Status) => void, intervalMs?: number) => impl.watch(file, onStatus, intervalMs);

/** `vtopo export`: the plan of FILE as an ovs-vsctl script, QEMU command lines or libvirt domain XML. */
export async function exportTopology(file: string, format: ExportFormat, opts: { vm?: string; host?: string } = {}): Promise<string> {
    const p = await impl.exportPlan(file);
    const vms = qemuVmLayer();
    const guest = builtGuestImage();
    return exportPlan(p, format, {
        argv: (vm) => vms.argv(vm),
        ...(guest ? { guest } : {}),
        cmdline: (vm) => { const b = resolveBootImage(vm, guest ?? { kernel: '', initrd: '' }); return b.kind === 'kernel' ? b.append ?? '' : ''; },
        ...opts,
    });
}

/** The newest default guest image already built (exports never build one). */
function builtGuestImage(): { kernel: string; initrd: string } | undefined {
    try {
        const root = guestCacheRoot();
        const dirs = readdirSync(root).map((d) => path.join(root, d))
            .filter((d) => existsSync(path.join(d, 'vmlinuz')) && existsSync(path.join(d, 'initrd.img')))
            .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
        return dirs[0] ? { kernel: path.join(dirs[0], 'vmlinuz'), initrd: path.join(dirs[0], 'initrd.img') } : undefined;
    } catch {
        return undefined;
    }
}

/** The serial console of a deployed guest: a unix socket to attach to, and the log QEMU keeps of it. */
export async function consoleTarget(file: string, vm: string): Promise<{ socket: string; serialLog?: string }> {
    const { topology, plan: p } = await impl.deployedPlan(file);
    if (!p) throw new VtopoError(`topology ${topology} is not deployed`, `run \`vtopo deploy ${file}\` first`, 'not-deployed');
    const v = p.vms.find((x) => x.name === vm);
    if (!v) throw new VtopoError(`topology ${topology} has no deployed vm ${vm}`, `name one of: ${p.vms.map((x) => x.name).join(', ')}`, 'no-such-vm');
    return { socket: v.consoleSocket, serialLog: v.serialLog };
}

/** The deployed Plan of a file's topology (undefined when nothing is deployed). */
export async function deployedPlan(file: string) {
    return (await impl.deployedPlan(file)).plan;
}

/** exportTopology shaped for the editor: the text plus the language id to show it in. */
export async function exportForEditor(file: string, format: ExportFormat): Promise<{ text: string; language: string }> {
    return { text: await exportTopology(file, format), language: format === 'libvirt' ? 'xml' : 'shellscript' };
}
