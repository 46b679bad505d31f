/** QEMU backend: the only entry point the runtime and exports use. */
export { detectAccel, readHostAccelInputs } from './accel.js';
export type { AccelInputs, AccelVerdict } from './accel.js';
export { resolveBootImage, guestCmdline } from './boot.js';
export type { BootImage } from './boot.js';
export { buildQemuArgv, AGENT_PORT_NAME } from './argv.js';
export { ensureGuestImage, guestCacheRoot, guestImageHash } from '../../../guest/image.js';
export type { GuestImage, GuestImageOptions } from '../../../guest/image.js';
export { launchVm, waitVmReady, stopVm, queryStatus, READY_MARKER } from './launcher.js';
export { vmStatus, classifyExit } from './status.js';
export { agentPing, agentPingStats, agentInterfaces, agentHello, agentIperf3, agentQueueStats, agentRequest, AgentError } from './agent.js';
export type { AgentInterface, GuestQueueStats } from './agent.js';
export { QmpClient, QmpError } from './qmp.js';
export type { QmpEvent } from './qmp.js';
export { vmFiles } from './files.js';
export type { ExitRecord, VmFiles } from './files.js';
export { agentExec } from './exec.js';
export { setGuestLink, takeConsole } from './lab.js';
