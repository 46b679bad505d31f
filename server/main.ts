import { startLanguageServer } from 'langium/lsp';
import { NodeFileSystem } from 'langium/node';
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node.js';
import { createVtopoServices } from '../src/language/vtopo-module.js';
import { LiveServer } from './live/server.js';
import { loadRuntime } from './live/runtime-host.js';
import { statusIntervalMs } from '../src/core/settings.js';

// Deploys from the editor write the same runtime files as the CLI: owner-only.
process.umask(0o077);

const connection = createConnection(ProposedFeatures.all);
const { shared, Vtopo } = createVtopoServices({ connection, ...NodeFileSystem });
// Before startLanguageServer: the live half must see each document before Langium publishes its diagnostics.
// The editor passes its vtopo.* settings as the same environment the CLI reads (src/core/settings.ts).
const live = new LiveServer(connection, shared, loadRuntime, { watchIntervalMs: statusIntervalMs(process.env.VTOPO_STATUS_INTERVAL, 2000) });
live.start();
live.augmentHovers(Vtopo.lsp.HoverProvider);
connection.onExit(() => live.dispose());
startLanguageServer(shared);
