import { describe, expect, it } from 'vitest';
import { loadOrder } from '../../guest/modules.js';

describe('module load order from modinfo dependencies', () => {
    // The shape of Debian 6.1's virtio stack, as modinfo -F depends reports it.
    const deps: Record<string, string[]> = {
        virtio_pci: ['virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio', 'virtio_ring'],
        virtio_pci_modern_dev: [],
        virtio_pci_legacy_dev: [],
        virtio: ['virtio_ring'],
        virtio_ring: [],
        virtio_net: ['net_failover', 'virtio', 'virtio_ring'],
        net_failover: ['failover'],
        failover: [],
        pvpanic_pci: ['pvpanic'],
        pvpanic: [],
    };
    const depends = (n: string) => {
        if (!(n in deps)) throw new Error(`unknown ${n}`);
        return deps[n];
    };

    it('puts every module after all of its dependencies, once', () => {
        const order = loadOrder(['virtio_pci', 'virtio_net', 'pvpanic-pci'], depends);
        expect(new Set(order).size).toBe(order.length);
        expect(order.sort()).toEqual(Object.keys(deps).sort());
        const again = loadOrder(['virtio_pci', 'virtio_net', 'pvpanic-pci'], depends);
        for (const [m, ds] of Object.entries(deps)) {
            for (const d of ds) expect(again.indexOf(d), `${d} before ${m}`).toBeLessThan(again.indexOf(m));
        }
    });

    it('virtio_ring loads before virtio (virtio first fails with "Unknown symbol")', () => {
        const order = loadOrder(['virtio_net'], depends);
        expect(order.indexOf('virtio_ring')).toBeLessThan(order.indexOf('virtio'));
        expect(order.at(-1)).toBe('virtio_net');
    });

    it('names a dependency cycle instead of looping', () => {
        expect(() => loadOrder(['a'], (n) => (n === 'a' ? ['b'] : ['a']))).toThrow(/cycle: a -> b -> a/);
    });
});
