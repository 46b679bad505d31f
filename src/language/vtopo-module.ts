import { inject, type LangiumCoreServices, type LangiumSharedCoreServices, type Module, type PartialLangiumCoreServices } from 'langium';
import { createDefaultModule, createDefaultSharedModule, type DefaultSharedModuleContext, type LangiumServices, type LangiumSharedServices, type PartialLangiumServices } from 'langium/lsp';
import { createDefaultCoreModule, createDefaultSharedCoreModule, EmptyFileSystem } from 'langium';
import { VtopoGeneratedModule, VtopoGeneratedSharedModule } from './generated/module.js';
import { VtopoValueConverter } from './value-converter.js';
import { registerValidationChecks, VtopoValidator } from './validation/validator.js';
import { VtopoDocumentValidator, VtopoLinker } from './validation/names.js';

export interface VtopoAddedServices {
    validation: { VtopoValidator: VtopoValidator };
}
export type VtopoServices = LangiumServices & VtopoAddedServices;
export type VtopoCoreServices = LangiumCoreServices & VtopoAddedServices;

const coreParts = {
    parser: { ValueConverter: () => new VtopoValueConverter() },
    references: { Linker: (services: LangiumCoreServices) => new VtopoLinker(services) },
    validation: {
        VtopoValidator: () => new VtopoValidator(),
        DocumentValidator: (services: LangiumCoreServices) => new VtopoDocumentValidator(services),
    },
} as const;

export const VtopoModule: Module<VtopoServices, PartialLangiumServices & VtopoAddedServices> = {
    ...coreParts,
};

export const VtopoCoreModule: Module<VtopoCoreServices, PartialLangiumCoreServices & VtopoAddedServices> = {
    ...coreParts,
};

/** Full LSP services, for the language server. */
export function createVtopoServices(context: DefaultSharedModuleContext): { shared: LangiumSharedServices; Vtopo: VtopoServices } {
    const shared = inject(createDefaultSharedModule(context), VtopoGeneratedSharedModule);
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
