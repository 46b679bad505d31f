/**
 * OVSDB's JSON encoding of values (RFC 7047 §5.1) and typed transact
 * operations (§5.2). Helpers go both ways: `set`/`map`/`uuid`/`namedUuid`
 * build wire values, `toArray`/`toRecord`/`uuidOf` read them back into
 * plain JS, because a one-element set arrives as a bare atom.
 */

export type Uuid = ['uuid', string];
export type NamedUuid = ['named-uuid', string];
export type Atom = string | number | boolean | Uuid | NamedUuid;
export type OvsSet = ['set', Atom[]];
export type OvsMap = ['map', [Atom, Atom][]];
export type Value = Atom | OvsSet | OvsMap;
export type Row = Record<string, Value>;

export const uuid = (u: string): Uuid => ['uuid', u];
export const namedUuid = (name: string): NamedUuid => ['named-uuid', name];
export const set = (atoms: Atom[]): OvsSet => ['set', atoms];
export const map = (obj: Record<string, string | number | boolean>): OvsMap =>
    ['map', Object.entries(obj).map(([k, v]) => [k, typeof v === 'string' ? v : String(v)] as [Atom, Atom])];

export type Condition = [column: string, fn: '==' | '!=' | '<' | '<=' | '>' | '>=' | 'includes' | 'excludes', value: Value];
export type Mutator = '+=' | '-=' | '*=' | '/=' | '%=' | 'insert' | 'delete';
export type Mutation = [column: string, mutator: Mutator, value: Value];

export interface InsertOp { op: 'insert'; table: string; row: Row; 'uuid-name'?: string; uuid?: string }
export interface SelectOp { op: 'select'; table: string; where: Condition[]; columns?: string[] }
export interface UpdateOp { op: 'update'; table: string; where: Condition[]; row: Row }
export interface MutateOp { op: 'mutate'; table: string; where: Condition[]; mutations: Mutation[] }
export interface DeleteOp { op: 'delete'; table: string; where: Condition[] }
export interface WaitOp {
    op: 'wait';
    table: string;
    where: Condition[];
    columns: string[];
    until: '==' | '!=';
    rows: Row[];
    timeout?: number;
}
export interface CommitOp { op: 'commit'; durable: boolean }
export interface AbortOp { op: 'abort' }
export interface CommentOp { op: 'comment'; comment: string }
export interface AssertOp { op: 'assert'; lock: string }
export type Operation = InsertOp | SelectOp | UpdateOp | MutateOp | DeleteOp | WaitOp | CommitOp | AbortOp | CommentOp | AssertOp;

export interface OpResult {
    uuid?: Uuid;
    rows?: Row[];
    count?: number;
    error?: string;
    details?: string;
}

export const op = {
    insert: (table: string, row: Row, uuidName?: string): InsertOp =>
        uuidName ? { op: 'insert', table, row, 'uuid-name': uuidName } : { op: 'insert', table, row },
    select: (table: string, where: Condition[] = [], columns?: string[]): SelectOp =>
        columns ? { op: 'select', table, where, columns } : { op: 'select', table, where },
    update: (table: string, where: Condition[], row: Row): UpdateOp => ({ op: 'update', table, where, row }),
    mutate: (table: string, where: Condition[], mutations: Mutation[]): MutateOp => ({ op: 'mutate', table, where, mutations }),
    delete: (table: string, where: Condition[]): DeleteOp => ({ op: 'delete', table, where }),
    wait: (table: string, where: Condition[], columns: string[], until: '==' | '!=', rows: Row[], timeout?: number): WaitOp =>
        timeout === undefined ? { op: 'wait', table, where, columns, until, rows } : { op: 'wait', table, where, columns, until, rows, timeout },
    comment: (comment: string): CommentOp => ({ op: 'comment', comment }),
};

/** Reads a set column: a bare atom is a one-element set. */
export function toArray(v: unknown): Atom[] {
    if (Array.isArray(v) && v[0] === 'set' && Array.isArray(v[1])) return v[1] as Atom[];
    if (v === undefined || v === null) return [];
    return [v as Atom];
}

/** Reads a map column into a plain record of strings. */
export function toRecord(v: unknown): Record<string, string> {
    const out: Record<string, string> = {};
    if (Array.isArray(v) && v[0] === 'map' && Array.isArray(v[1])) {
        for (const [k, val] of v[1] as [Atom, Atom][]) out[atomText(k)] = atomText(val);
    }
    return out;
}

/** Reads a map column whose values are integers (Interface.statistics). */
export function toNumberRecord(v: unknown): Record<string, number> {
    const out: Record<string, number> = {};
    if (Array.isArray(v) && v[0] === 'map' && Array.isArray(v[1])) {
        for (const [k, val] of v[1] as [Atom, Atom][]) out[atomText(k)] = Number(val);
    }
    return out;
}

/** Reads an optional scalar column (a set of zero or one atoms). */
export function optional<T extends Atom>(v: unknown): T | undefined {
    const a = toArray(v);
    return a.length > 0 ? (a[0] as T) : undefined;
}

export function uuidOf(v: unknown): string | undefined {
    return Array.isArray(v) && (v[0] === 'uuid' || v[0] === 'named-uuid') && typeof v[1] === 'string' ? v[1] : undefined;
}

export function atomText(a: Atom): string {
    if (Array.isArray(a)) return a[1];
    return String(a);
}
