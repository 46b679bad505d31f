/** VLANs with real guests under TCG on the embedded datapath (the cases: test/e2e/vlan-cases.ts). */
import { describe } from 'vitest';
import { vlanCases } from './vlan-cases.js';

describe('e2e: 802.1Q VLANs on the embedded datapath', () => {
    vlanCases({ datapath: 'embedded', prefix: 'vlan-e2e' });
});
