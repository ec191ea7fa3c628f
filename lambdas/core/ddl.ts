/**
 * Schema changes read from the binlog: which statements are DDL, which tables they touch, whether they
 * change columns, and the same statement with a target table's name in place of the source table's.
 *
 * Recognised: ALTER TABLE, RENAME TABLE (and ALTER … RENAME), DROP TABLE, TRUNCATE [TABLE], CREATE [UNIQUE|
 * FULLTEXT|SPATIAL] INDEX … ON, DROP INDEX … ON, CREATE TABLE (… LIKE). Anything else is not DDL here (BEGIN,
 * COMMIT, XA, SAVEPOINT, SET, statements of other objects). The online-schema-change tools' cut-over is a
 * RENAME TABLE that moves their shadow table (`_t_gho`, `_t_new`) over the migrated table: it touches it.
 */

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

interface Token {
  readonly text: string;
  /** Upper-cased word (or the identifier's unquoted text for a quoted one). */
  readonly word: string;
  readonly quoted: boolean;
  readonly start: number;
  readonly end: number;
}

/** Splits a statement into words, quoted identifiers, strings and single punctuation; comments skipped. */
function tokens(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '#' || (c === '-' && sql[i + 1] === '-' && /\s/.test(sql[i + 2] ?? ' '))) {
      while (i < sql.length && sql[i] !== '\n') i++;
    } else if (c === '/' && sql[i + 1] === '*') {
      // Executable comments (`/*!50100 … */`, `/*M! … */`) hold statement text: their content is read.
      const exec = /^\/\*[M]?!\d*/.exec(sql.slice(i));
      if (exec) {
        i += exec[0].length;
      } else {
        const close = sql.indexOf('*/', i + 2);
        i = close < 0 ? sql.length : close + 2;
      }
    } else if (c === '*' && sql[i + 1] === '/') {
      i += 2;
    } else if (c === '`' || c === '"' || c === "'") {
      let j = i + 1;
      let text = '';
      for (; j < sql.length; j++) {
        if (sql[j] === c) {
          if (sql[j + 1] === c) {
            text += c;
            j++;
            continue;
          }
          break;
        }
        if (sql[j] === '\\' && c !== '`') {
          text += sql[++j] ?? '';
          continue;
        }
        text += sql[j];
      }
      // Backticks (and double quotes under ANSI_QUOTES) quote identifiers; single quotes are strings.
      out.push({ text: sql.slice(i, j + 1), word: c === "'" ? `'${text}'` : text, quoted: c !== "'", start: i, end: j + 1 });
      i = j + 1;
    } else if (/[A-Za-z0-9_$\u0080-\uffff]/.test(c)) {
      let j = i + 1;
      while (j < sql.length && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[j]!)) j++;
      const text = sql.slice(i, j);
      out.push({ text, word: text.toUpperCase(), quoted: false, start: i, end: j });
      i = j;
    } else {
      out.push({ text: c, word: c, quoted: false, start: i, end: i + 1 });
      i++;
    }
  }
  return out;
}

/** A cursor over a statement's tokens. */
class Cursor {
  i = 0;
  constructor(readonly toks: Token[]) {}
  peek(k = 0): Token | undefined {
    return this.toks[this.i + k];
  }
  is(...words: string[]): boolean {
    return words.every((w, k) => {
      const t = this.peek(k);
      return t !== undefined && !t.quoted && t.word === w;
    });
  }
  accept(...words: string[]): boolean {
    if (!this.is(...words)) return false;
    this.i += words.length;
    return true;
  }
  /** Skips optional words in any order (e.g. ONLINE, IGNORE). */
  skip(...words: string[]): void {
    while (this.peek() && !this.peek()!.quoted && words.includes(this.peek()!.word)) this.i++;
  }
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
function alterChangesColumns(toks: Token[]): boolean {
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

/**
 * The column names a `CREATE TABLE t (…)` defines, in order; `undefined` for `CREATE TABLE … LIKE` and for a
 * statement that is not a CREATE TABLE with a definition it can read (`… SELECT` without one included).
 */
export function createdColumns(ddl: Ddl): string[] | undefined {
  if (ddl.kind !== 'create' || ddl.tables.length !== 1) return undefined;
  const toks = tokens(ddl.statement.slice(ddl.tables[0]!.span[1]));
  if (toks[0]?.text !== '(' || (toks[1] && !toks[1].quoted && toks[1].word === 'LIKE')) return undefined;
  const names: string[] = [];
  const notColumns = new Set(['INDEX', 'KEY', 'UNIQUE', 'FULLTEXT', 'SPATIAL', 'CONSTRAINT', 'FOREIGN', 'PRIMARY', 'CHECK', 'PERIOD']);
  let depth = 0;
  let clauseStart = false;
  for (const t of toks) {
    if (t.text === '(') {
      if (++depth === 1) clauseStart = true;
      continue;
    }
    if (t.text === ')') {
      if (--depth === 0) return names.length ? names : undefined;
      continue;
    }
    if (depth !== 1) continue;
    if (t.text === ',') {
      clauseStart = true;
      continue;
    }
    if (!clauseStart) continue;
    clauseStart = false;
    if (!t.quoted && notColumns.has(t.word)) continue;
    if (!t.quoted && !/^[A-Za-z0-9_$\u0080-\uffff]+$/.test(t.text)) return undefined;
    names.push(t.quoted ? t.word : t.text);
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

/** A column right after a DDL: its name, and the column before it that it is (none for one it added). */
export interface ColumnAfter {
  readonly name: string;
  readonly from?: string;
}

/**
 * The columns of a table right after `ddl`, from its column names before, each with the column it was before
 * (a renamed one keeps its old name as `from`): for an ALTER whose column clauses add (`ADD [COLUMN] c … [FIRST
 * | AFTER x]`, `ADD (c …, d …)`), drop (`DROP [COLUMN] c`), change (`CHANGE [COLUMN] old new …`, `MODIFY
 * [COLUMN] c …`, each `[FIRST | AFTER x]`) or rename (`RENAME COLUMN a TO b`) columns, and for DDL that changes
 * no column. `undefined` for anything else (CONVERT TO CHARACTER SET, a table RENAME, other kinds, a name it
 * cannot find): the table's definition as it is now is then the only source. Used when later DDL may already
 * have changed the table again: the definition now is not the one right after this statement.
 */
export function columnsAfter(ddl: Ddl, before: readonly string[]): ColumnAfter[] | undefined {
  if (!ddl.changesColumns) return before.map((name) => ({ name, from: name }));
  if (ddl.kind !== 'alter' || ddl.tables.length !== 1) return undefined;
  const toks = tokens(ddl.statement.slice(ddl.tables[0]!.span[1]));
  // Top-level clauses, split at commas outside parentheses.
  const clauses: Token[][] = [[]];
  let depth = 0;
  for (const t of toks) {
    if (t.text === '(') depth++;
    else if (t.text === ')') depth--;
    if (depth === 0 && t.text === ',') clauses.push([]);
    else clauses[clauses.length - 1]!.push(t);
  }
  const cols: ColumnAfter[] = before.map((name) => ({ name, from: name }));
  const ident = (t: Token | undefined) => (t === undefined ? undefined : t.quoted ? t.word : /^[A-Za-z0-9_$\u0080-\uffff]+$/.test(t.text) ? t.text : undefined);
  const lower = (s: string) => s.toLowerCase();
  const indexOf = (name: string) => cols.findIndex((c) => lower(c.name) === lower(name));
  /** Where FIRST / AFTER x at the clause's top level (from token `from` on) puts a column; `end` without either; undefined for an AFTER of no column. */
  const placement = (clause: Token[], from: number, end: number): number | undefined => {
    let at = end;
    let d = 0;
    for (let k = from; k < clause.length; k++) {
      const t = clause[k]!;
      if (t.text === '(') d++;
      else if (t.text === ')') d--;
      else if (d === 0 && !t.quoted && t.word === 'FIRST') at = 0;
      else if (d === 0 && !t.quoted && t.word === 'AFTER') {
        const after = ident(clause[k + 1]);
        const i = after === undefined ? -1 : indexOf(after);
        if (i < 0) return undefined;
        at = i + 1;
      }
    }
    return at;
  };
  for (const clause of clauses) {
    if (!clause.length) continue;
    const c = new Cursor(clause);
    if (c.accept('ADD')) {
      c.accept('COLUMN');
      c.accept('IF', 'NOT', 'EXISTS');
      if (c.peek()?.text === '(') {
        // ADD (c type, d type): appended in order; each column's name opens it.
        let d = 0;
        let expectName = true;
        for (const t of clause.slice(c.i)) {
          if (t.text === '(') {
            if (++d === 1) continue;
          } else if (t.text === ')') d--;
          else if (d === 1 && t.text === ',') {
            expectName = true;
            continue;
          }
          if (d === 1 && expectName) {
            const n = ident(t);
            if (n === undefined) return undefined;
            cols.push({ name: n });
            expectName = false;
          }
        }
        continue;
      }
      const next = c.peek();
      if (next && !next.quoted && ['INDEX', 'KEY', 'UNIQUE', 'FULLTEXT', 'SPATIAL', 'CONSTRAINT', 'FOREIGN', 'PRIMARY', 'PARTITION', 'CHECK', 'PERIOD', 'SYSTEM'].includes(next.word)) continue;
      const name = ident(next);
      if (name === undefined) return undefined;
      if (indexOf(name) >= 0) continue; // IF NOT EXISTS of a column there already
      const at = placement(clause, c.i + 1, cols.length);
      if (at === undefined) return undefined;
      cols.splice(at, 0, { name });
      continue;
    }
    if (c.accept('DROP')) {
      c.accept('COLUMN');
      c.accept('IF', 'EXISTS');
      const next = c.peek();
      if (next && !next.quoted && ['INDEX', 'KEY', 'CONSTRAINT', 'FOREIGN', 'PRIMARY', 'PARTITION', 'CHECK', 'DEFAULT', 'SYSTEM', 'PERIOD'].includes(next.word)) continue;
      const name = ident(next);
      if (name === undefined) return undefined;
      const i = indexOf(name);
      if (i >= 0) cols.splice(i, 1);
      continue;
    }
    const change = c.is('CHANGE');
    if (change || c.is('MODIFY')) {
      c.i++;
      c.accept('COLUMN');
      const ifExists = c.accept('IF', 'EXISTS');
      const old = ident(c.peek());
      if (old === undefined) return undefined;
      c.i++;
      let name = old;
      if (change) {
        const n = ident(c.peek());
        if (n === undefined) return undefined;
        name = n;
        c.i++;
      }
      const i = indexOf(old);
      if (i < 0) {
        if (ifExists) continue;
        return undefined;
      }
      const [col] = cols.splice(i, 1);
      const at = placement(clause, c.i, i);
      if (at === undefined) return undefined;
      cols.splice(at, 0, { name, ...(col!.from !== undefined ? { from: col!.from } : {}) });
      continue;
    }
    if (c.is('RENAME', 'COLUMN')) {
      c.i += 2;
      const old = ident(c.peek());
      c.i++;
      const to = c.accept('TO') ? ident(c.peek()) : undefined;
      const i = old === undefined ? -1 : indexOf(old);
      if (i < 0 || to === undefined) return undefined;
      cols[i] = { ...cols[i]!, name: to };
      continue;
    }
    // Any other clause that changes columns: not followed by names alone.
    if (alterChangesColumns(clause)) return undefined;
  }
  return cols;
}

/**
 * The columns after a sequence of DDL (`columnsAfter` in turn), each with the column before the first it is;
 * `undefined` when one of them is not followed by names alone.
 */
export function columnsAfterAll(ddls: readonly Ddl[], before: readonly string[]): ColumnAfter[] | undefined {
  let cols: ColumnAfter[] = before.map((name) => ({ name, from: name }));
  for (const d of ddls) {
    const next = columnsAfter(d, cols.map((c) => c.name));
    if (!next) return undefined;
    const origin = new Map(cols.map((c) => [c.name.toLowerCase(), c.from]));
    cols = next.map((c) => {
      const from = c.from === undefined ? undefined : origin.get(c.from.toLowerCase());
      return { name: c.name, ...(from !== undefined ? { from } : {}) };
    });
  }
  return cols;
}

/** The column names of a table right after `ddl` (`columnsAfter`), or `undefined`. */
export function columnNamesAfter(ddl: Ddl, before: readonly string[]): string[] | undefined {
  return columnsAfter(ddl, before)?.map((c) => c.name);
}
