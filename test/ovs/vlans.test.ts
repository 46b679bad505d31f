/** VLANs with real guests under TCG on a private OvS-DPDK (Port tag/trunks/vlan_mode; the cases: test/e2e/vlan-cases.ts). */
import { describe } from 'vitest';
import { vlanCases } from '../e2e/vlan-cases.js';

describe('e2e: 802.1Q VLANs on OvS-DPDK', () => {
    vlanCases({ datapath: 'ovs', prefix: 'vlan-ovs' });
});
