import type { ValidationChecks } from 'langium';
import type { VtopoAstType } from '../generated/ast.js';
import type { VtopoCoreServices } from '../vtopo-module.js';
import { addressChecks } from './addresses.js';
import { bridgeChecks } from './bridges.js';
import { nameChecks } from './names.js';
import { nicChecks } from './nics.js';
import { queueChecks } from './queues.js';
import { resourceChecks } from './resources.js';

/** The one rule set used by the editor, `vtopo check` and deploy. Rules live in one module per family; codes in codes.ts. */
export class VtopoValidator {}

const families: ValidationChecks<VtopoAstType>[] = [nameChecks, queueChecks, addressChecks, resourceChecks, bridgeChecks, nicChecks];

export function registerValidationChecks(services: VtopoCoreServices): void {
    const registry = services.validation.ValidationRegistry;
    const validator = services.validation.VtopoValidator;
    for (const checks of families) registry.register(checks, validator);
}
