import { DefaultValueConverter, type CstNode, type GrammarAST, type ValueType } from 'langium';
import { parseSize } from './units.js';

/** SIZE literals become byte counts ; MACs are normalised to lower case. */
export class VtopoValueConverter extends DefaultValueConverter {
    protected override runConverter(rule: GrammarAST.AbstractRule, input: string, cstNode: CstNode): ValueType {
        switch (rule.name) {
            case 'SIZE': return parseSize(input) ?? Number.NaN;
            case 'INT': return Number.parseInt(input, 10);
            case 'MAC': return input.toLowerCase();
            default: return super.runConverter(rule, input, cstNode);
        }
    }
}
