import type { AstNode, ValidationAcceptor, ValidationChecks } from 'langium';
import type { VtopoAstType } from '../generated/ast.js';
import type { VtopoCoreServices } from '../vtopo-module.js';
import { addressChecks } from './addresses.js';
import { bridgeChecks } from './bridges.js';
import { fabricChecks } from './fabric.js';
import { nameChecks } from './names.js';
import { impairmentChecks } from './impairments.js';
import { nicChecks } from './nics.js';
import { queueChecks } from './queues.js';
import { resourceChecks } from './resources.js';
import { vlanChecks } from './vlans.js';

/** The one rule set used by the editor, `vtopo check` and deploy. Rules live in one module per family; codes in codes.ts. */
export class VtopoValidator {}

const families: ValidationChecks<VtopoAstType>[] = [nameChecks, queueChecks, addressChecks, resourceChecks, bridgeChecks, nicChecks, impairmentChecks, vlanChecks, fabricChecks];

type Check = (node: AstNode, accept: ValidationAcceptor) => void;

/**
 * One registered check per node type that runs every family's rule for it.
 * Langium wraps each registered check in two async layers; with six families
 * that was most of the validation time of a 1,000-VM file. A rule that throws
 * does not keep the others from running; the first error is rethrown so
 * Langium still reports it on the node.
 */
export function mergeChecks(sets: ValidationChecks<VtopoAstType>[]): ValidationChecks<VtopoAstType> {
    const byType = new Map<string, Check[]>();
    for (const set of sets) {
        for (const [type, check] of Object.entries(set)) {
            for (const fn of (Array.isArray(check) ? check : [check]) as Check[]) byType.set(type, [...(byType.get(type) ?? []), fn]);
        }
    }
    const merged: Record<string, Check> = {};
    for (const [type, fns] of byType) {
        merged[type] = (node, accept) => {
            let failure: unknown;
            for (const fn of fns) {
                try {
                    fn(node, accept);
                } catch (err) {
                    failure ??= err;
                }
            }
            if (failure !== undefined) throw failure;
        };
    }
    return merged as ValidationChecks<VtopoAstType>;
}

export function registerValidationChecks(services: VtopoCoreServices): void {
    services.validation.ValidationRegistry.register(mergeChecks(families), services.validation.VtopoValidator);
}
