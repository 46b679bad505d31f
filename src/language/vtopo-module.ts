import {
    createDefaultCoreModule, createDefaultSharedCoreModule, EmptyFileSystem, inject,
    type LangiumCoreServices, type LangiumSharedCoreServices, type Module, type PartialLangiumCoreServices,
} from 'langium';
import {
    createDefaultModule, createDefaultSharedModule, type DefaultSharedModuleContext, type LangiumServices,
    type LangiumSharedServices, type PartialLangiumServices, type PartialLangiumSharedServices,
} from 'langium/lsp';
import { VtopoGeneratedModule, VtopoGeneratedSharedModule } from './generated/module.js';
import { VtopoCodeActionProvider } from './lsp/code-actions.js';
import { VtopoCompletionProvider } from './lsp/completion.js';
import { VtopoFormatter } from './lsp/formatter.js';
import { VtopoHoverProvider } from './lsp/hover.js';
import { VtopoSemanticTokenProvider } from './lsp/semantic-tokens.js';
import { VtopoDocumentSymbolProvider, VtopoNodeKindProvider } from './lsp/symbols.js';
import { createVtopoParser, VtopoLexer } from './parser.js';
import { VtopoScopeProvider } from './scope.js';
import { VtopoValueConverter } from './value-converter.js';
import { registerValidationChecks, VtopoValidator } from './validation/validator.js';
import { VtopoDocumentValidator, VtopoLinker } from './validation/names.js';

export interface VtopoAddedServices {
    validation: { VtopoValidator: VtopoValidator };
}
/** The hover provider is typed as ours so the server can add live text: `Vtopo.lsp.HoverProvider.addHoverAugmenter(fn)`. */
export interface VtopoLspAddedServices {
    lsp: { HoverProvider: VtopoHoverProvider };
}
export type VtopoServices = LangiumServices & VtopoAddedServices & VtopoLspAddedServices;
export type VtopoCoreServices = LangiumCoreServices & VtopoAddedServices;

const coreParts = {
    parser: {
        Lexer: (services: LangiumCoreServices) => new VtopoLexer(services),
        LangiumParser: (services: LangiumCoreServices) => createVtopoParser(services),
        ValueConverter: () => new VtopoValueConverter(),
    },
    references: {
        Linker: (services: LangiumCoreServices) => new VtopoLinker(services),
        ScopeProvider: (services: LangiumCoreServices) => new VtopoScopeProvider(services),
    },
    validation: {
        VtopoValidator: () => new VtopoValidator(),
        DocumentValidator: (services: LangiumCoreServices) => new VtopoDocumentValidator(services),
    },
} as const;

/**
 * Editor features. Go to definition, find references and rename are
 * Langium's defaults over our scoping (names resolve within their topology).
 */
export const VtopoModule: Module<VtopoServices, PartialLangiumServices & VtopoAddedServices & VtopoLspAddedServices> = {
    ...coreParts,
    lsp: {
        CompletionProvider: (services) => new VtopoCompletionProvider(services),
        HoverProvider: (services) => new VtopoHoverProvider(services),
        CodeActionProvider: () => new VtopoCodeActionProvider(),
        Formatter: () => new VtopoFormatter(),
        SemanticTokenProvider: (services) => new VtopoSemanticTokenProvider(services),
        DocumentSymbolProvider: (services) => new VtopoDocumentSymbolProvider(services),
    },
};

export const VtopoSharedModule: Module<LangiumSharedServices, PartialLangiumSharedServices> = {
    lsp: { NodeKindProvider: () => new VtopoNodeKindProvider() },
};

export const VtopoCoreModule: Module<VtopoCoreServices, PartialLangiumCoreServices & VtopoAddedServices> = {
    ...coreParts,
};

/** Full LSP services, for the language server. */
export function createVtopoServices(context: DefaultSharedModuleContext): { shared: LangiumSharedServices; Vtopo: VtopoServices } {
    const shared = inject(createDefaultSharedModule(context), VtopoGeneratedSharedModule, VtopoSharedModule);
    const Vtopo = inject(createDefaultModule({ shared }), VtopoGeneratedModule, VtopoModule);
    shared.ServiceRegistry.register(Vtopo);
    registerValidationChecks(Vtopo);
    if (!context.connection) {
        // No client to announce the configuration: build the workspace at once.
        shared.workspace.ConfigurationProvider.initialized({});
    }
    return { shared, Vtopo };
}

/** Language-only services (no LSP), for the CLI and the runtime. */
export function createVtopoCoreServices(): { shared: LangiumSharedCoreServices; Vtopo: VtopoCoreServices } {
    const shared = inject(createDefaultSharedCoreModule(EmptyFileSystem), VtopoGeneratedSharedModule);
    const Vtopo = inject(createDefaultCoreModule({ shared }), VtopoGeneratedModule, VtopoCoreModule);
    shared.ServiceRegistry.register(Vtopo);
    registerValidationChecks(Vtopo);
    return { shared, Vtopo };
}
