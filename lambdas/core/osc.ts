/**
 * Online schema changes (gh-ost, pt-online-schema-change). Such a tool changes a big table by building a
 * ghost of it — `_<table>_gho` (gh-ost) or `_<table>_new` (pt-osc): created like the table, altered, filled
 * while the table keeps taking writes — and swapping it in with one `RENAME TABLE t TO old, ghost TO t`.
 * Capture keeps what it reads of each ghost of a migrated table (`GhostTable`), so that at the swap it knows
 * the change: the ghost's ALTER statements, which the targets take as they would the ALTER itself. Pure.
 */
import { parseDdl, refKey, type Ddl } from './ddl.js';
import { createdColumns } from './ddl-columns.js';

export type OscTool = 'gh-ost' | 'pt-online-schema-change';

/** The table a ghost table name belongs to, and the tool whose name it is. */
export function ghostName(table: string): { readonly of: string; readonly tool: OscTool } | undefined {
  const gho = /^_(.+)_gho$/.exec(table);
  if (gho) return { of: gho[1]!, tool: 'gh-ost' };
  const neu = /^_(.+)_new$/.exec(table);
  if (neu) return { of: neu[1]!, tool: 'pt-online-schema-change' };
  return undefined;
}

/** A statement as capture read it: its text and the database it ran in. */
export interface GhostStatement {
  readonly statement: string;
  readonly schema: string;
}

/** What capture read of one ghost table since it was created. */
export interface GhostTable {
  /** The migrated physical table (`database.table`) it is the ghost of. */
  readonly of: string;
  readonly tool: OscTool;
  /** The column names it was created with, when created with a definition (none: created LIKE the table). */
  readonly columns?: readonly string[];
  /** The ALTER statements run on it since, in order. */
  readonly alters: readonly GhostStatement[];
}

/** Ghost tables by `database.table`. */
export type Ghosts = Readonly<Record<string, GhostTable>>;

/** The ghost a DDL creates, alters or drops, when it is the ghost of a table in `watched` (`database.table` keys). */
export function ghostDdlOf(ddl: Ddl, watched: ReadonlySet<string>): { readonly ghost: string; readonly of: string; readonly tool: OscTool } | undefined {
  if (!['create', 'alter', 'drop'].includes(ddl.kind) || ddl.tables.length !== 1) return undefined;
  const t = ddl.tables[0]!;
  const name = ghostName(t.table);
  if (!name) return undefined;
  const of = refKey({ database: t.database, table: name.of });
  return watched.has(of) ? { ghost: refKey(t), of, tool: name.tool } : undefined;
}

/**
 * The ghosts after a ghost's DDL (`ghostDdlOf`): a CREATE starts it anew (with the columns of its definition,
 * if it has one), an ALTER adds its statement, a DROP forgets it. Other statements leave them as they are.
 */
export function afterGhostDdl(ghosts: Ghosts, ddl: Ddl, schema: string, watched: ReadonlySet<string>): Record<string, GhostTable> {
  const g = ghostDdlOf(ddl, watched);
  const out: Record<string, GhostTable> = { ...ghosts };
  if (!g) return out;
  if (ddl.kind === 'drop') {
    delete out[g.ghost];
    return out;
  }
  if (ddl.kind === 'create') {
    const columns = createdColumns(ddl);
    out[g.ghost] = { of: g.of, tool: g.tool, ...(columns ? { columns } : {}), alters: [] };
    return out;
  }
  const known = out[g.ghost];
  // An ALTER of a ghost created before capture began: what it was created with is unknown.
  if (known) out[g.ghost] = { ...known, alters: [...known.alters, { statement: ddl.statement, schema }] };
  return out;
}

/** The ghosts without `ghost` (swapped in: it is the table now). */
export function withoutGhost(ghosts: Ghosts | undefined, ghost: string): Record<string, GhostTable> {
  const out: Record<string, GhostTable> = { ...ghosts };
  delete out[ghost];
  return out;
}

/** The swap of a table with its ghost: `RENAME TABLE t TO old, ghost TO t` (each `database.table`). */
export interface GhostSwap {
  readonly table: string;
  readonly ghost: string;
  readonly old: string;
}

/** The swap `ddl` makes of a table with its ghost (named so by a tool), if it is one. */
export function ghostSwapOf(ddl: Ddl): GhostSwap | undefined {
  if (ddl.kind !== 'rename' || ddl.tables.length !== 4) return undefined;
  const [from1, to1, from2, to2] = ddl.tables as [Ddl['tables'][0], Ddl['tables'][0], Ddl['tables'][0], Ddl['tables'][0]];
  const table = refKey(from1);
  if (refKey(to2) !== table || refKey(to1) === table) return undefined;
  const name = ghostName(from2.table);
  if (!name || name.of !== from1.table || from2.database !== from1.database) return undefined;
  return { table, ghost: refKey(from2), old: refKey(to1) };
}

/** What the targets take at a swap: the ghost's ALTERs, and whether they change columns. */
export interface SwapChange {
  readonly ghost: string;
  readonly tool: OscTool;
  readonly alters: readonly GhostStatement[];
  readonly changesColumns: boolean;
}

/**
 * What a swap changes of the table whose columns were `before`, or why it cannot be followed: the ghost was
 * created before capture began (so its statements are unknown), or with other columns than the table had.
 */
export function swapChange(swap: GhostSwap, ghosts: Ghosts, before: readonly string[]): SwapChange | { readonly why: string } {
  const ghost = ghosts[swap.ghost];
  if (!ghost || ghost.of !== swap.table) return { why: `capture did not read the creation of ${swap.ghost}, so it does not know what changed in it` };
  const lower = (names: readonly string[]) => names.map((n) => n.toLowerCase()).join(',');
  if (ghost.columns && lower(ghost.columns) !== lower(before))
    return { why: `${swap.ghost} was created with other columns (${ghost.columns.join(', ')}) than ${swap.table} had (${before.join(', ')})` };
  const parsed = ghost.alters.map((a) => parseDdl(a.statement, a.schema));
  return { ghost: swap.ghost, tool: ghost.tool, alters: ghost.alters, changesColumns: parsed.some((d) => d?.changesColumns ?? true) };
}
