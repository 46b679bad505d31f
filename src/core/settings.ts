/**
 * The user settings vtopo honours, one table for the editor and the CLI: each
 * VS Code setting `vtopo.<key>` travels as the environment variable `env`,
 * which the CLI reads directly (so a shell user sets the same thing the same
 * way) and the extension sets for the language server and for the terminals it
 * opens. package.json's contributes.configuration mirrors this table (a test
 * compares them).
 */
export interface SettingSpec {
    key: string;
    env: string;
    type: 'string' | 'number';
    default: string | number;
    description: string;
}

export const SETTINGS: readonly SettingSpec[] = [
    {
        key: 'runtimeDirectory', env: 'VTOPO_RUN_ROOT', type: 'string', default: '',
        description: 'Directory under which each deployed topology keeps its sockets, logs, pid files and state (`<dir>/<topology>`). Empty: /run/vtopo.',
    },
    {
        key: 'ovsdb', env: 'VTOPO_OVSDB', type: 'string', default: '',
        description: 'The OvS database that `datapath ovs` bridges use when the file names none (`host { ovsdb … }`) and the command line gives no --ovsdb, e.g. unix:/var/run/openvswitch/db.sock. Empty: vtopo runs a private OvS-DPDK per topology.',
    },
    {
        key: 'qemuPath', env: 'VTOPO_QEMU', type: 'string', default: '',
        description: 'The QEMU binary guests run under, when qemu-system-x86_64 is not on PATH or another build is wanted. Empty: qemu-system-x86_64 from PATH.',
    },
    {
        key: 'statusInterval', env: 'VTOPO_STATUS_INTERVAL', type: 'number', default: 2,
        description: 'Seconds between two refreshes of the live status (editor diagnostics, tree, graph, `vtopo status --watch`), 0.2 to 3600. Unset, `vtopo status --watch` refreshes every second.',
    },
    {
        key: 'sshCommand', env: 'VTOPO_SSH', type: 'string', default: '',
        description: 'The OpenSSH client command vtopo reaches `ssh` hosts with, options included, e.g. `ssh -F ~/.ssh/lab_config`. Empty: ssh from PATH with BatchMode (keys only, no password prompt).',
    },
    {
        key: 'remoteCli', env: 'VTOPO_REMOTE_VTOPO', type: 'string', default: '',
        description: 'The command that runs vtopo on an `ssh` host, as that host\'s shell reads it (environment assignments allowed), e.g. `VTOPO_RUN_ROOT=/srv/vtopo /opt/vtopo/bin/vtopo`. Empty: vtopo from that host\'s PATH.',
    },
];

/**
 * The environment for one set of settings values (as read from the editor):
 * only the settings given a non-empty value, so an unset one falls back to
 * what the caller's own environment says.
 */
export function settingsEnv(get: (key: string) => unknown): Record<string, string> {
    const env: Record<string, string> = {};
    for (const s of SETTINGS) {
        const v = get(s.key);
        if (v === undefined || v === null || v === '') continue;
        env[s.env] = String(v);
    }
    return env;
}

/** The status refresh interval in ms from VTOPO_STATUS_INTERVAL's text; `fallbackMs` when unset or out of range. */
export function statusIntervalMs(text: string | undefined, fallbackMs: number): number {
    const s = text === undefined || text === '' ? NaN : Number(text);
    return s >= 0.2 && s <= 3600 ? Math.round(s * 1000) : fallbackMs;
}
