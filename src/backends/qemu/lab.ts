/** Working in a running guest: its NIC's carrier (QMP set_link) and the one console allowed at a time. */
import type { VmPlan } from '../../core/plan.js';
import { VtopoError } from '../../core/api.js';
import { lockAt, type Lock } from '../../host/state.js';
import { vmFiles } from './files.js';
import { QmpClient } from './qmp.js';

/**
 * Carrier of the guest NIC `nic` (the topology port name is the device id):
 * QEMU clears or sets VIRTIO_NET_S_LINK_UP and raises the config interrupt,
 * so the guest's `ip link` says NO-CARRIER and its driver stops sending.
 */
export async function setGuestLink(vm: VmPlan, nic: string, up: boolean): Promise<void> {
    let q: QmpClient | undefined;
    try {
        q = await QmpClient.connect(vm.qmpSocket, { timeoutMs: 3000 });
    } catch (e) {
        throw new VtopoError(`vm ${vm.name} does not answer on QMP (${(e as Error).message})`, `start it (vtopo start FILE ${vm.name}) and try again`, 'vm-down');
    }
    try {
        await q.execute('set_link', { name: nic, up });
    } finally {
        q.close();
    }
}

/** The console lock of a guest; refuses while another `vtopo console` (or the editor's) is attached. */
export function takeConsole(vm: VmPlan): Lock {
    return lockAt(vmFiles(vm).consoleLock, 'console', (pid) => new VtopoError(
        `another console is attached to vm ${vm.name} (pid ${pid})`,
        `leave that one first (Ctrl-] in its terminal), or end it: kill ${pid}`,
        'console-busy',
    ));
}
