import { startLanguageServer } from 'langium/lsp';
import { NodeFileSystem } from 'langium/node';
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node.js';
import { createVtopoServices } from '../src/language/vtopo-module.js';

const connection = createConnection(ProposedFeatures.all);
const { shared } = createVtopoServices({ connection, ...NodeFileSystem });
startLanguageServer(shared);
