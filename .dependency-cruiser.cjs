/**
 * The layering of vtopo, enforced by `npm run lint` (part of `npm test`).
 * docs/ARCHITECTURE.md explains each rule; change both together.
 *
 *   core <- language <- plan <- runtime -> backends -> datapath (client)
 *   runtime and backends use host; cli, server and the extension sit on top.
 */

/** Modules that touch the host: files, processes, sockets, FFI. */
const EFFECTS = '^(node:)?(fs|fs/promises|child_process|net|dgram)$';
const KOFFI = '(^|/)node_modules/koffi/';
const OURS = '^(src|server|test|bench|guest)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
    forbidden: [
        {
            name: 'no-circular',
            severity: 'error',
            comment: 'A cycle makes two modules one: split the shared part out (often into src/core). '
                + 'Cycles closed only by `import type` (classes that name each other, Langium\'s services/validator pair) '
                + 'do not exist at run time and are allowed; the layer rules below still apply to them.',
            from: {},
            to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
        },
        {
            name: 'core-is-leaf',
            severity: 'error',
            comment: 'src/core holds the data that crosses stages; it imports nothing of ours.',
            from: { path: '^src/core/' },
            to: { path: OURS, pathNot: '^src/core/' },
        },
        {
            name: 'language-only-core',
            severity: 'error',
            comment: 'src/language (grammar, checker, LSP features) knows nothing of the plan, runtime, extension or server.',
            from: { path: '^src/language/' },
            to: { path: OURS, pathNot: '^src/(core|language)/' },
        },
        {
            name: 'plan-only-core-language',
            severity: 'error',
            comment: 'src/plan is AST -> Plan: it reads the AST (src/language) and writes src/core types, nothing else.',
            from: { path: '^src/plan/' },
            to: { path: OURS, pathNot: '^src/(core|language|plan)/' },
        },
        {
            name: 'no-runtime-below',
            severity: 'error',
            comment: 'The runtime drives language, plan, backends and datapath; none of them calls back into it.',
            from: { path: '^src/(language|plan|backends|datapath|host)/' },
            to: { path: '^src/runtime/' },
        },
        {
            name: 'datapath-only-core',
            severity: 'error',
            comment: 'The embedded switch is its own process: it may use src/core (limits, control protocol) and nothing else of ours.',
            from: { path: '^src/datapath/' },
            to: { path: OURS, pathNot: '^src/(core|datapath)/' },
        },
        {
            name: 'extension-only-core',
            severity: 'error',
            comment: 'The VS Code client talks to the language server (src/core/lsp-protocol.ts); it never runs the runtime, backends or datapath itself.',
            from: { path: '^src/extension/' },
            to: { path: OURS, pathNot: '^src/(core|extension)/' },
        },
        {
            name: 'host-below-runtime',
            severity: 'error',
            comment: 'src/host holds host effects that runtime and backends share; it does not reach up into runtime, cli, extension or server.',
            from: { path: '^src/host/' },
            to: { path: '^(src/(runtime|cli|extension)|server)/' },
        },
        {
            name: 'no-test-code-in-product',
            severity: 'error',
            comment: 'Test and bench tooling lives under test/ and bench/; the product never imports it (benches may import test/support).',
            from: { path: '^(src|server|guest)/' },
            to: { path: '^(test|bench)/' },
        },
        {
            name: 'koffi-only-in-sys',
            severity: 'error',
            comment: 'All FFI is in src/datapath/sys.',
            from: { pathNot: '^src/datapath/sys/' },
            to: { path: KOFFI },
        },
        {
            name: 'effects-where-owned',
            severity: 'error',
            comment: 'Files, processes and sockets are touched only by the modules that own them (docs/ARCHITECTURE.md, "Side effects"): '
                + 'host, backends, the datapath process (sys/, its entry main.ts, its control client, the capture file, the vhost-user listener), '
                + 'the language loader (reads .vtopo files), cli, extension, server, guest, test, bench. '
                + 'src/runtime may use node:fs for its run directory only.',
            from: {
                pathNot: [
                    '^src/(host|backends|cli|extension)/',
                    '^src/datapath/(sys/|main\\.ts$|control-client\\.ts$|switch/pcap\\.ts$|vhost-user/channel\\.ts$)',
                    '^src/language/load\\.ts$',
                    '^src/runtime/',
                    '^(server|guest|test|bench)/',
                ],
            },
            to: { dependencyTypes: ['core'], path: EFFECTS },
        },
        {
            name: 'runtime-fs-only',
            severity: 'error',
            comment: 'The runtime keeps its run directory with node:fs; processes and sockets are the backends\' and host\'s.',
            from: { path: '^src/runtime/' },
            to: { dependencyTypes: ['core'], path: '^(node:)?(child_process|net|dgram)$' },
        },
        {
            name: 'plan-is-pure',
            severity: 'error',
            comment: 'src/plan never touches the file system, processes, clock or cwd: of node it uses only path and crypto (hashing).',
            from: { path: '^src/plan/' },
            to: { dependencyTypes: ['core'], pathNot: '^(node:)?(path|crypto)$' },
        },
        {
            name: 'not-to-unresolvable',
            severity: 'error',
            comment: 'An import that does not resolve is a typo or a missing dependency.',
            from: {},
            to: { couldNotResolve: true, pathNot: '^vscode$' },
        },
    ],
    options: {
        doNotFollow: { path: 'node_modules' },
        tsConfig: { fileName: 'tsconfig.json' },
        tsPreCompilationDeps: true,
        enhancedResolveOptions: {
            exportsFields: ['exports'],
            conditionNames: ['import', 'require', 'node', 'default', 'types'],
            extensions: ['.ts', '.js', '.cjs', '.mjs', '.json', '.d.ts'],
        },
        reporterOptions: { text: { highlightFocused: true } },
    },
};
