/**
 * Schema changes read from the binlog: which statements are DDL, which tables they touch, whether they
 * change columns, and the same statement with a target table's name in place of the source table's.
 *
 * Recognised: ALTER TABLE, RENAME TABLE (and ALTER … RENAME), DROP TABLE, TRUNCATE [TABLE], CREATE [UNIQUE|
 * FULLTEXT|SPATIAL] INDEX … ON, DROP INDEX … ON, CREATE TABLE (… LIKE). Anything else is not DDL here (BEGIN,
 * COMMIT, XA, SAVEPOINT, SET, statements of other objects). The online-schema-change tools' cut-over is a
 * RENAME TABLE that moves their shadow table (`_t_gho`, `_t_new`) over the migrated table: it touches it.
 */
import { Cursor, tokens, type Token } from './sql-tokens.js';

export type DdlKind = 'alter' | 'rename' | 'drop' | 'truncate' | 'create-index' | 'drop-index' | 'create';

/** A table named by a statement: its database (the statement's default database when unqualified). */
export interface TableRef {
  readonly database: string;
  readonly table: string;
  /** Where the name (qualified or not) sits in the statement: [start, end). */
  readonly span: readonly [number, number];
}

export interface Ddl {
  readonly kind: DdlKind;
  readonly statement: string;
  /** Every table the statement names (a RENAME's sources and destinations; an ALTER's table first). */
  readonly tables: readonly TableRef[];
  /**
   * Whether the statement can change a table's columns or rows as capture decodes them: an ALTER that adds,
   * drops, changes, modifies or renames a column, converts the character set or renames the table; every
   * RENAME, DROP, TRUNCATE and CREATE. Index and comment changes do not.
   */
  readonly changesColumns: boolean;
}

/** Reads `[db.]table` at the cursor (identifiers as written: an unquoted name keeps its case). */
function tableRef(c: Cursor, defaultDb: string): TableRef | undefined {
  const first = c.peek();
  if (!first || (!first.quoted && !/^[A-Za-z0-9_$\u0080-\uffff]+$/.test(first.text))) return undefined;
  const name = (t: Token) => (t.quoted ? t.word : t.text);
  c.i++;
  if (c.peek()?.text === '.' && c.peek(1)) {
    const second = c.peek(1)!;
    c.i += 2;
    return { database: name(first), table: name(second), span: [first.start, second.end] };
  }
  return { database: defaultDb, table: name(first), span: [first.start, first.end] };
}

/** ALTER TABLE clauses that change columns as the binlog carries them (the rest: indexes, options, comments). */
const COLUMN_CLAUSES = new Set(['COLUMN', 'CHANGE', 'MODIFY', 'RENAME', 'CONVERT', 'ORDER']);

/**
 * Whether an ALTER TABLE's clauses (the tokens after its table name) change columns: ADD / DROP of a column
 * (not of an INDEX, KEY, CONSTRAINT, FOREIGN KEY, PRIMARY KEY, PARTITION …), CHANGE, MODIFY, RENAME (of a
 * column or the table), CONVERT TO CHARACTER SET. Only top-level clauses count (parentheses skipped).
 */
export function alterChangesColumns(toks: readonly Token[]): boolean {
  let depth = 0;
  let clauseStart = true;
  const notColumns = new Set(['INDEX', 'KEY', 'UNIQUE', 'FULLTEXT', 'SPATIAL', 'CONSTRAINT', 'FOREIGN', 'PRIMARY', 'PARTITION', 'CHECK', 'PERIOD', 'SYSTEM']);
  for (let k = 0; k < toks.length; k++) {
    const t = toks[k]!;
    if (t.text === '(') depth++;
    else if (t.text === ')') depth--;
    if (depth > 0) continue;
    if (t.text === ',') {
      clauseStart = true;
      continue;
    }
    if (!clauseStart) continue;
    clauseStart = false;
    const w = t.quoted ? '' : t.word;
    if (COLUMN_CLAUSES.has(w)) {
      // RENAME INDEX / KEY and ORDER BY are not column changes of the row images; RENAME COLUMN / TO / AS are.
      if (w === 'RENAME') {
        const next = toks[k + 1];
        if (next && !next.quoted && (next.word === 'INDEX' || next.word === 'KEY')) continue;
      }
      if (w === 'ORDER') continue;
      return true;
    }
    if (w === 'ADD' || w === 'DROP') {
      let next = toks[k + 1];
      // ADD IF NOT EXISTS / DROP IF EXISTS
      let j = k + 1;
      while (next && !next.quoted && ['IF', 'NOT', 'EXISTS'].includes(next.word)) next = toks[++j];
      if (!next) return true;
      if (next.text === '(') return true; // ADD (col …, col …)
      if (!next.quoted && next.word === 'COLUMN') return true;
      if (!next.quoted && notColumns.has(next.word)) continue;
      if (!next.quoted && next.word === 'DEFAULT') continue; // ALTER … DROP DEFAULT is under ALTER COLUMN
      return true; // ADD col_name …, DROP col_name
    }
    if (w === 'ALTER') {
      // ALTER [COLUMN] c SET DEFAULT / DROP DEFAULT: a default, not the row image. ALTER INDEX … VISIBLE too.
      continue;
    }
  }
  return false;
}

/**
 * The DDL in `statement`, run with `defaultDb` as its default database; `undefined` when it is not DDL of a
 * table (transaction control, DML, SET, other objects).
 */
export function parseDdl(statement: string, defaultDb: string): Ddl | undefined {
  const toks = tokens(statement);
  const c = new Cursor(toks);
  const ddl = (kind: DdlKind, tables: TableRef[], changesColumns: boolean): Ddl | undefined => (tables.length ? { kind, statement, tables, changesColumns } : undefined);
  if (c.accept('ALTER')) {
    c.skip('ONLINE', 'OFFLINE', 'IGNORE');
    if (!c.accept('TABLE')) return undefined;
    c.accept('IF', 'EXISTS');
    const t = tableRef(c, defaultDb);
    if (!t) return undefined;
    const rest = toks.slice(c.i);
    // ALTER TABLE a RENAME [TO|AS] b: a rename.
    const renameAt = rest.findIndex((x, k) => !x.quoted && x.word === 'RENAME' && (k === 0 || rest[k - 1]!.text === ',') && !['COLUMN', 'INDEX', 'KEY'].includes(rest[k + 1]?.word ?? ''));
    if (renameAt >= 0) {
      const r = new Cursor(rest);
      r.i = renameAt + 1;
      r.skip('TO', 'AS');
      const to = tableRef(r, defaultDb);
      return ddl('rename', to ? [t, to] : [t], true);
    }
    return ddl('alter', [t], alterChangesColumns(rest));
  }
  if (c.accept('RENAME')) {
    if (!c.accept('TABLE') && !c.accept('TABLES')) return undefined;
    const tables: TableRef[] = [];
    for (;;) {
      c.accept('IF', 'EXISTS');
      const from = tableRef(c, defaultDb);
      if (!from) break;
      if (c.accept('WAIT')) c.i++;
      else c.accept('NOWAIT');
      if (!c.accept('TO')) break;
      const to = tableRef(c, defaultDb);
      if (!to) break;
      tables.push(from, to);
      if (!c.accept(',')) break;
    }
    return ddl('rename', tables, true);
  }
  if (c.accept('DROP')) {
    if (c.is('TEMPORARY')) return undefined;
    if (c.accept('TABLE') || c.accept('TABLES')) {
      c.accept('IF', 'EXISTS');
      const tables: TableRef[] = [];
      for (;;) {
        const t = tableRef(c, defaultDb);
        if (!t) break;
        tables.push(t);
        if (!c.accept(',')) break;
      }
      return ddl('drop', tables, true);
    }
    c.skip('ONLINE', 'OFFLINE');
    if (c.accept('INDEX')) {
      c.accept('IF', 'EXISTS');
      c.i++; // the index name
      if (!c.accept('ON')) return undefined;
      const t = tableRef(c, defaultDb);
      return ddl('drop-index', t ? [t] : [], false);
    }
    return undefined;
  }
  if (c.accept('TRUNCATE')) {
    c.accept('TABLE');
    const t = tableRef(c, defaultDb);
    return ddl('truncate', t ? [t] : [], true);
  }
  if (c.accept('CREATE')) {
    c.accept('OR', 'REPLACE');
    c.skip('ONLINE', 'OFFLINE', 'UNIQUE', 'FULLTEXT', 'SPATIAL');
    if (c.accept('INDEX')) {
      c.accept('IF', 'NOT', 'EXISTS');
      c.i++; // the index name
      while (c.peek() && !c.is('ON')) c.i++; // USING BTREE before ON
      if (!c.accept('ON')) return undefined;
      const t = tableRef(c, defaultDb);
      return ddl('create-index', t ? [t] : [], false);
    }
    if (c.is('TEMPORARY')) return undefined;
    if (c.accept('TABLE')) {
      c.accept('IF', 'NOT', 'EXISTS');
      const t = tableRef(c, defaultDb);
      return ddl('create', t ? [t] : [], true);
    }
  }
  return undefined;
}

/** `database.table` of a table reference (the key capture's physical tables are looked up by). */
export const refKey = (t: Pick<TableRef, 'database' | 'table'>) => `${t.database}.${t.table}`;

/** The tables of `ddl` among `watched` (keys `database.table`), each once. */
export function touchedTables(ddl: Ddl, watched: ReadonlySet<string>): TableRef[] {
  const seen = new Set<string>();
  return ddl.tables.filter((t) => {
    const k = refKey(t);
    if (!watched.has(k) || seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The DDL kinds `reshard ddl apply` (and `cdc.onDdl: exec`) can run on every target table as they are. */
export const APPLICABLE: ReadonlySet<DdlKind> = new Set(['alter', 'truncate', 'create-index', 'drop-index']);

const quoteId = (s: string) => '`' + s.replaceAll('`', '``') + '`';

/**
 * The statement to run on one target table: `ddl`'s statement with its (single) table replaced by the
 * target's qualified name. Throws for kinds that cannot run on the targets as they are (RENAME, DROP,
 * CREATE) and for statements naming more than one table.
 */
export function targetStatement(ddl: Ddl, target: { database: string; tableName: string }): string {
  if (!APPLICABLE.has(ddl.kind)) throw new RangeError(`a ${ddl.kind.toUpperCase()} cannot be run on the target tables as it is`);
  if (ddl.tables.length !== 1) throw new RangeError(`the statement names ${ddl.tables.length} tables; only one-table statements are run on the targets`);
  const [start, end] = ddl.tables[0]!.span;
  return ddl.statement.slice(0, start) + `${quoteId(target.database)}.${quoteId(target.tableName)}` + ddl.statement.slice(end);
}

/** What the operator does about a DDL capture stopped before (`swap`: a RENAME that swaps in an online schema change's ghost). */
export function ddlTodo(p: { readonly kind: string; readonly changesColumns: boolean; readonly swap?: { readonly tool: string; readonly alters: readonly unknown[] } }, server: number): string {
  const { kind, changesColumns, swap } = p;
  const on = server ? ` --server ${server}` : '';
  if (swap && changesColumns) return `reshard ddl apply${on}: runs the ${swap.alters.length} ALTER statement(s) ${swap.tool} ran on its ghost on every target table once the changes before the swap are applied, then capture goes on`;
  if (!changesColumns) return `reshard ddl skip${on} (an index or option change the targets need not take) or reshard ddl apply${on} (run it on every target table)`;
  if (APPLICABLE.has(kind as DdlKind)) return `reshard ddl apply${on}: runs it on every target table once the changes before it are applied, then capture goes on`;
  return `change the target tables to match the source yourself, then reshard ddl skip --force${on}`;
}

/** One line on a DDL capture of source server `server` stopped before: the statement, where, why, and what to do. */
export function pausedText(server: number, p: Parameters<typeof ddlTodo>[0] & { statement: string; at: { file: string; position: number }; reason: string }): string {
  return `capture of source server #${server} is stopped at ${p.at.file}:${p.at.position}, before: ${p.statement} (${p.reason}). To go on: ${ddlTodo(p, server)}`;
}
