/**
 * Kernel modules for the initramfs, in load order. The order comes from the
 * modules' own `depends` field (modinfo), so a new kernel that splits or
 * renames a helper module still loads: insmod has no dependency resolution.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/** What the default guest needs: PCI transport, NIC, agent channel, panic notifier, power button, VLAN sub-interfaces (`ip link add … type vlan`). */
export const ROOT_MODULES = ['virtio_pci', 'virtio_net', 'virtio_console', 'pvpanic_pci', 'button', 'evdev', '8021q'];

const norm = (name: string) => name.replace(/-/g, '_');

/** name (underscored) → .ko path, for every module under `modulesDir` (…/lib/modules/<ver>). */
export function indexModules(modulesDir: string): Map<string, string> {
    const out = new Map<string, string>();
    const walk = (dir: string) => {
        for (const e of readdirSync(dir, { withFileTypes: true })) {
            const p = path.join(dir, e.name);
            if (e.isDirectory()) walk(p);
            else if (e.name.endsWith('.ko')) out.set(norm(e.name.slice(0, -3)), p);
        }
    };
    walk(modulesDir);
    return out;
}

export function moduleDepends(koPath: string): string[] {
    const out = execFileSync('modinfo', ['-F', 'depends', koPath], { encoding: 'utf8' }).trim();
    return out ? out.split(',').map((s) => norm(s.trim())).filter(Boolean) : [];
}

/**
 * Dependencies first (post-order DFS), each module once. `depends` is
 * injectable so the ordering is testable without a kernel tree.
 */
export function loadOrder(roots: string[], depends: (name: string) => string[]): string[] {
    const order: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (name: string, chain: string[]) => {
        const s = state.get(name);
        if (s === 'done') return;
        if (s === 'visiting') throw new Error(`module dependency cycle: ${[...chain, name].join(' -> ')}`);
        state.set(name, 'visiting');
        for (const d of depends(name)) visit(d, [...chain, name]);
        state.set(name, 'done');
        order.push(name);
    };
    for (const r of roots) visit(norm(r), []);
    return order;
}

/** Load order of ROOT_MODULES within an extracted kernel's module tree; missing modules are reported, built-ins skipped. */
export function resolveModules(modulesDir: string, roots = ROOT_MODULES): { order: string[]; files: Map<string, string> } {
    const files = indexModules(modulesDir);
    const builtin = new Set<string>();
    try {
        const lines = readFileSync(path.join(modulesDir, 'modules.builtin'), 'utf8').split('\n');
        for (const l of lines) if (l.endsWith('.ko')) builtin.add(norm(path.basename(l, '.ko')));
    } catch { /* older packages ship no modules.builtin: treat everything as modular */ }
    const present = roots.filter((r) => files.has(norm(r)) || !builtin.has(norm(r)));
    const order = loadOrder(present, (name) => {
        const ko = files.get(name);
        if (!ko) {
            if (builtin.has(name)) return [];
            throw new Error(`kernel module ${name} not found under ${modulesDir}`);
        }
        return moduleDepends(ko);
    }).filter((n) => files.has(n));
    return { order, files };
}
