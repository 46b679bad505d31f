import type { ValidationChecks } from 'langium';
import type { VtopoAstType } from '../generated/ast.js';
import type { VtopoCoreServices } from '../vtopo-module.js';

/** The one rule set used by the editor, `vtopo check` and deploy. */
export class VtopoValidator {}

export function registerValidationChecks(services: VtopoCoreServices): void {
    const registry = services.validation.ValidationRegistry;
    const validator = services.validation.VtopoValidator;
    const checks: ValidationChecks<VtopoAstType> = {};
    registry.register(checks, validator);
}
