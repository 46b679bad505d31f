/** QEMU backend: the only entry point the runtime and exports use. */
export { detectAccel, readHostAccelInputs } from './accel.js';
export type { AccelInputs, AccelVerdict } from './accel.js';
export { resolveBootImage, guestCmdline } from './boot.js';
export type { BootImage } from './boot.js';
export { buildQemuArgv, AGENT_PORT_NAME } from './argv.js';
