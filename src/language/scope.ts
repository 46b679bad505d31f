import { AstUtils, DefaultScopeProvider, EMPTY_SCOPE, MapScope, type AstNodeDescription, type ReferenceInfo, type Scope } from 'langium';
import { isTopology, type Topology } from './generated/ast.js';

/**
 * Bridges are looked up by name in their topology. Langium's default scope
 * filters the topology's symbols (every VM, NIC and bridge) and searches them
 * linearly for each reference: quadratic in a 1,000-VM lab. This keeps one
 * map of the topology's bridges per AST (a new parse makes a new AST), the
 * first declaration winning as before (a second one is a duplicate-name error).
 */
export class VtopoScopeProvider extends DefaultScopeProvider {
    private readonly bridgeScopes = new WeakMap<Topology, Scope>();

    override getScope(context: ReferenceInfo): Scope {
        const topology = this.reflection.getReferenceType(context) === 'Bridge' ? AstUtils.getContainerOfType(context.container, isTopology) : undefined;
        if (!topology) return super.getScope(context);
        let scope = this.bridgeScopes.get(topology);
        if (!scope) {
            const symbols = AstUtils.getDocument(topology).localSymbols;
            const byName = new Map<string, AstNodeDescription>();
            for (const d of symbols?.getStream(topology) ?? []) {
                if (d.type === 'Bridge' && !byName.has(d.name)) byName.set(d.name, d);
            }
            // Nothing outside the topology: its names are local to it (see the grammar).
            scope = new MapScope(byName.values(), EMPTY_SCOPE);
            this.bridgeScopes.set(topology, scope);
        }
        return scope;
    }
}
