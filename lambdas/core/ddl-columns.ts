/**
 * The columns DDL leaves a table with, read from the statement: the columns a CREATE TABLE defines, and those
 * right after an ALTER, each with the column it was before. Pure.
 */
import { alterChangesColumns, type Ddl } from './ddl.js';
import { Cursor, tokens, type Token } from './sql-tokens.js';

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
