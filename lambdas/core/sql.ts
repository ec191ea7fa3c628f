/**
 * SQL text builders, pure. Identifiers come only from validated config (plain names) and are still
 * escaped here; every value is a bound parameter, except the copy's row literals, which the source server
 * itself renders with QUOTE()/HEX() (`rowRenderExpr`) and the copy passes on untouched.
 */
export function q(identifier: string): string {
  return `\`${identifier.replaceAll('`', '``')}\``;
}

export function qt(database: string, table: string): string {
  return `${q(database)}.${q(table)}`;
}

export interface Window {
  readonly from?: string | undefined;
  readonly to?: string | undefined;
}

/** A row rendered by the source as one value: an INSERT literal `(…)` or a LOAD DATA line. */
export interface RowRendering {
  readonly as: 'literal' | 'line';
  readonly columns: readonly string[];
  readonly kinds: Readonly<Record<string, LiteralKind>>;
}

export interface PageQuery {
  readonly sql: string;
  readonly params: unknown[];
}

/**
 * `key > bound` (`op` `>`) or `key <= bound` (`<=`) over the scroll key's columns, its values bound: `id > ?`,
 * or for a composite key `(a > ? OR (a = ? AND b > ?))` — the expanded form, which MariaDB's range optimizer
 * serves from the index (a row constructor comparison it does not).
 */
export function keyCompare(scrollKey: readonly string[], op: '>' | '<=', bound: readonly unknown[], params: unknown[]): string {
  if (bound.length !== scrollKey.length) throw new RangeError(`a bound of ${bound.length} value(s) for a scroll key of ${scrollKey.length} column(s)`);
  if (scrollKey.length === 1) {
    params.push(bound[0]);
    return `${q(scrollKey[0]!)} ${op} ?`;
  }
  const strict = op === '>' ? '>' : '<';
  const terms: string[] = [];
  for (let i = 0; i < scrollKey.length; i++) {
    const parts: string[] = [];
    for (let j = 0; j < i; j++) {
      parts.push(`${q(scrollKey[j]!)} = ?`);
      params.push(bound[j]);
    }
    parts.push(`${q(scrollKey[i]!)} ${i === scrollKey.length - 1 ? op : strict} ?`);
    params.push(bound[i]);
    terms.push(parts.length === 1 ? parts[0]! : `(${parts.join(' AND ')})`);
  }
  return `(${terms.join(' OR ')})`;
}

/** `ORDER BY` the scroll key's columns (each `DESC` with `desc`). */
export function keyOrder(scrollKey: readonly string[], desc = false): string {
  return scrollKey.map((c) => `${q(c)}${desc ? ' DESC' : ''}`).join(', ');
}

/** `WHERE key > :cursor [AND key <= :hi] [AND time in window] ORDER BY key LIMIT :n`; bounds are the key's bound values (`bindKey`). */
export function pageQuery(args: {
  database: string;
  table: string;
  columns: readonly string[];
  scrollKey: readonly string[];
  after: readonly unknown[] | null;
  upTo: readonly unknown[] | null;
  timeColumn?: string | undefined;
  window?: Window | undefined;
  limit: number;
  /** Column kinds as `selectList` reads them (`float-single` for FLOAT). */
  kinds?: Readonly<Record<string, string>> | undefined;
  /** Also select each row rendered by the source (`rowRenderExpr`), after `columns`. */
  render?: RowRendering | undefined;
}): PageQuery {
  const where: string[] = [];
  const params: unknown[] = [];
  if (args.after !== null) where.push(keyCompare(args.scrollKey, '>', args.after, params));
  if (args.upTo !== null) where.push(keyCompare(args.scrollKey, '<=', args.upTo, params));
  where.push(...windowPredicates(args.timeColumn, args.window, params));
  const list = selectList(args.columns, args.kinds);
  const r = args.render;
  const cols = r ? `${list}, ${rowRenderExpr(r, args.kinds)}` : list;
  const sql = `SELECT ${cols} FROM ${qt(args.database, args.table)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${keyOrder(args.scrollKey)} LIMIT ${Math.trunc(args.limit)}`;
  return { sql, params };
}

export function windowPredicates(timeColumn: string | undefined, window: Window | undefined, params: unknown[]): string[] {
  const out: string[] = [];
  if (!timeColumn || !window) return out;
  if (window.from) {
    out.push(`${q(timeColumn)} >= ?`);
    params.push(mysqlTime(window.from));
  }
  if (window.to) {
    out.push(`${q(timeColumn)} < ?`);
    params.push(mysqlTime(window.to));
  }
  return out;
}

/** ISO date/time text → MySQL DATETIME text (UTC when an offset is given). */
export function mysqlTime(iso: string): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) return `${iso} 00:00:00`;
  if (/[zZ]|[+-]\d{2}:?\d{2}$/.test(iso)) return new Date(iso).toISOString().replace('T', ' ').replace('Z', '');
  return iso.replace('T', ' ');
}

/**
 * Multi-row plain INSERT of fresh rows (the copy's first try): all or nothing — a row whose key exists fails
 * the whole statement with ER_DUP_ENTRY and InnoDB rolls it back, and the caller then writes the rows with
 * `copyUpsertSql`. Without the duplicate-key branch the server parses and resolves ~40% less per statement.
 */
export function copyInsertSql(args: { database: string; table: string; columns: readonly string[] }): string {
  return `${insertHead(args)}?`;
}

/** `INSERT INTO t (columns) VALUES ` — followed by `?` (bound rows) or by row literals. */
export function insertHead(args: { database: string; table: string; columns: readonly string[] }): string {
  return `INSERT INTO ${qt(args.database, args.table)} (${args.columns.map(q).join(', ')}) VALUES `;
}

/**
 * Multi-row guarded upsert for the copy (the SQL form of `copyAction`):
 * - without a version column the duplicate branch is a no-op (never overwrite what is there);
 * - with one, every column takes the new value only if the new version is strictly newer, and the
 *   version column is assigned last (MySQL evaluates assignments left to right).
 * The rows are bound as one nested array (`VALUES ?`).
 */
export function copyUpsertSql(args: CopyUpsertArgs): string {
  return `${insertHead(args)}?${copyUpsertTail(args)}`;
}

export interface CopyUpsertArgs {
  database: string;
  table: string;
  columns: readonly string[];
  recordKey: readonly string[];
  versionColumn?: string | undefined;
}

/** The guard of `copyUpsertSql`: ` ON DUPLICATE KEY UPDATE …`, written after the rows. */
export function copyUpsertTail(args: CopyUpsertArgs, opts: { qualified?: boolean } = {}): string {
  // From INSERT … SELECT the target's columns are named with their table (the SELECT has the same names).
  const t = opts.qualified ? `${qt(args.database, args.table)}.` : '';
  const firstKey = q(args.recordKey[0] ?? args.columns[0]!);
  if (!args.versionColumn) return ` ON DUPLICATE KEY UPDATE ${t}${firstKey} = ${t}${firstKey}`;
  const v = q(args.versionColumn);
  const newer = `(VALUES(${v}) IS NOT NULL AND (${t}${v} IS NULL OR VALUES(${v}) > ${t}${v}))`;
  const assign = args.columns
    .filter((c) => !args.recordKey.includes(c) && c !== args.versionColumn)
    .map((c) => `${t}${q(c)} = IF(${newer}, VALUES(${q(c)}), ${t}${q(c)})`);
  assign.push(`${t}${v} = IF(${newer}, VALUES(${v}), ${t}${v})`);
  return ` ON DUPLICATE KEY UPDATE ${assign.join(', ')}`;
}

/** LOAD DATA LOCAL of a file of `rowRenderExpr` lines into `database.table`. */
export function loadLinesSql(database: string, table: string, columns: readonly string[]): string {
  return (
    `LOAD DATA LOCAL INFILE 'reshard-page.csv' INTO TABLE ${qt(database, table)} CHARACTER SET utf8mb4 ` +
    `FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\\'' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (${columns.map(q).join(', ')})`
  );
}

/**
 * How the source renders a column of a row (`rowRenderExpr`): `number` as its text, `bit` as its integer
 * value, `binary` as hex (literals) or QUOTE()d bytes (load lines), `text` (strings, JSON, ENUM/SET)
 * converted to utf8mb4 and QUOTE()d, `utf8` (the same, stored as utf8mb4 already) QUOTE()d as its bytes,
 * `temporal` (dates and times) QUOTE()d in literals and as its bare text in load lines (no comma, quote or
 * backslash in it). See `literalKindsOf` in the MySQL adapter.
 */
export type LiteralKind = 'number' | 'bit' | 'binary' | 'text' | 'utf8' | 'temporal';

/**
 * One row as one value rendered by the source server, as utf8mb4 bytes (BINARY: the reader gets a Buffer,
 * which the writer passes on as it is). Node then reads one value per row instead of one per column,
 * escapes nothing, and never holds the row as a string (on the 1M-row bench: Node's CPU about −50%, garbage
 * collection included). Strings go through utf8mb4 and QUOTE() (backslash escapes, as the target sessions
 * read them: `createPool` takes NO_BACKSLASH_ESCAPES out of their sql_mode); those stored as utf8mb4 already
 * as their bytes (`CONVERT … USING binary`: no conversion, and about 40% less of the source's CPU for the
 * whole row on the bench, with dates bare in lines). The row is concatenated as bytes, so columns of different
 * charsets or collations concatenate; numbers as their text; BIT as its integer value.
 * - `literal`: the SQL literal `(v1, v2, …)` for the target's `INSERT … VALUES`; binary values as hex
 *   `X'…'`, so no byte goes through the statement's charset.
 * - `line`: a line of a LOAD DATA file (`loadLinesSql`): the values separated by commas, binary values
 *   QUOTE()d too (LOAD DATA reads `\\`, `\'`, `\0`, `\Z` back and keeps other bytes), the bare word NULL for
 *   NULL (LOAD DATA reads an unenclosed NULL as NULL), a newline after. The target server reads it without its
 *   SQL parser (on the bench: the servers' CPU −20–25% against literals). Not for BIT (LOAD DATA would store
 *   the number's text as bytes).
 * A row larger than the source's `max_allowed_packet` renders as NULL: only a NULL value reads `NULL` (a
 * function whose result would exceed the packet returns NULL too, and that NULL must reach CONCAT, which then
 * returns NULL for the row, instead of being read as the value NULL); the reader refuses it, naming the row.
 */
function rowRenderExpr(render: RowRendering, readKinds: Readonly<Record<string, string>> = {}): string {
  const line = render.as === 'line';
  const parts = render.columns.map((c) => {
    const kind = render.kinds[c];
    const col = q(c);
    switch (kind) {
      case 'number':
        return `IFNULL(${valueExpr(c, readKinds[c])}, 'NULL')`;
      case 'bit':
        if (line) break;
        return `IFNULL(${col} + 0, 'NULL')`;
      case 'binary':
        return line ? `IF(${col} IS NULL, 'NULL', QUOTE(${col}))` : `IF(${col} IS NULL, 'NULL', CONCAT('X''', HEX(${col}), ''''))`;
      case 'temporal':
        if (line) return `IFNULL(${col}, 'NULL')`;
        return `IF(${col} IS NULL, 'NULL', QUOTE(CONVERT(${col} USING utf8mb4)))`;
      case 'text':
        return `IF(${col} IS NULL, 'NULL', QUOTE(CONVERT(${col} USING utf8mb4)))`;
      case 'utf8':
        return `IF(${col} IS NULL, 'NULL', QUOTE(CONVERT(${col} USING binary)))`;
    }
    throw new RangeError(`column ${c} cannot be rendered as ${line ? 'a LOAD DATA field' : 'an SQL literal'} (${kind ?? 'no literal kind'})`);
  });
  const values = parts.join(", ',', ");
  return line ? `CAST(CONCAT(${values}, '\\n') AS BINARY)` : `CAST(CONCAT('(', ${values}, ')') AS BINARY)`;
}

/** How a column is read and checksummed; see `readKindsOf` in the MySQL adapter. */
export type ReadKind = 'plain' | 'short' | 'utf8' | 'float-single';

/**
 * A row checksum expression usable on both sides: NULL-safe, column-order sensitive, and injective on the
 * row's bytes: read left to right, the row string decodes one way only. The fields are separated by the byte
 * 0xFF (the row string is binary). Numbers, dates and times ('plain', and FLOAT read as DOUBLE) go in as they
 * are, `n` for NULL: their text holds no 0xFF and never reads `n`. Bounded strings stored as UTF-8 ('utf8':
 * CHAR/VARCHAR/ENUM/SET in utf8mb4 or utf8mb3) go in as their bytes (`CONVERT … USING binary`), 0xFE for NULL: well-formed UTF-8 (all
 * the server stores) holds neither 0xFE nor 0xFF. Other bounded columns ('short': BINARY, BIT, strings of
 * other charsets, …) go in length-prefixed (`<bytes>:<value>`, `n` for NULL), so no value can pass for a
 * separator or for NULL; any other column (TEXT, BLOB, JSON, unknown) as its own CRC32, so no string
 * function ever builds a value larger than the column's own (a long value concatenated past
 * `max_allowed_packet` would turn NULL and hide differences). The length prefix is not free: on the bench's
 * `order_info`, its four VARCHARs as bytes instead make the checksum ~9% cheaper on the server.
 */
export function rowCrcExpr(columns: readonly string[], kinds: Readonly<Record<string, string>> = {}): string {
  const part = (c: string) => {
    const k = kinds[c];
    if (k === 'plain' || k === 'float-single') return `IFNULL(${valueExpr(c, k)}, 'n')`;
    if (k === 'utf8') return `IFNULL(CONVERT(${q(c)} USING binary), X'FE')`;
    if (k !== 'short') return `IFNULL(CRC32(${q(c)}), 'n')`;
    return `IFNULL(CONCAT(OCTET_LENGTH(${q(c)}), ':', ${q(c)}), 'n')`;
  };
  return `CRC32(CONCAT_WS(X'FF', ${columns.map(part).join(', ')}))`;
}

/**
 * A column as read for copying and comparing. FLOAT goes through DOUBLE (`+ 0e0`): the text protocol
 * prints a FLOAT with 6 significant digits, so 1.2345678 would be read (and copied, and compared) as
 * 1.23457; as a double its text has every digit of the stored single-precision value, which a FLOAT
 * column stores back exactly.
 */
function valueExpr(column: string, kind?: string): string {
  return kind === 'float-single' ? `(${q(column)} + 0e0)` : q(column);
}

/** The select list for `columns` (see `valueExpr`), each under its own name. */
export function selectList(columns: readonly string[], kinds: Readonly<Record<string, string>> = {}): string {
  return columns.map((c) => (kinds[c] === 'float-single' ? `${valueExpr(c, kinds[c])} AS ${q(c)}` : q(c))).join(', ');
}

/** `(k1, k2) IN ((?, ?), …)` or `k IN (?, …)` for a list of record keys. */
export function keysPredicate(recordKey: readonly string[], count: number): string {
  if (recordKey.length === 1) return `${q(recordKey[0]!)} IN (${Array(count).fill('?').join(', ')})`;
  const tuple = `(${recordKey.map(() => '?').join(', ')})`;
  return `(${recordKey.map(q).join(', ')}) IN (${Array(count).fill(tuple).join(', ')})`;
}

/** Rows of `count` record keys (bound in `recordKey` order), `columns` read as `kinds` says (`selectList`). */
export function selectByKeysSql(args: {
  database: string;
  table: string;
  columns: readonly string[];
  recordKey: readonly string[];
  count: number;
  /** @default {} (every column as it is) */
  kinds?: Readonly<Record<string, string>> | undefined;
}): string {
  return `SELECT ${selectList(args.columns, args.kinds ?? {})} FROM ${qt(args.database, args.table)} WHERE ${keysPredicate(args.recordKey, args.count)}`;
}

/** Deletes the rows of `count` record keys (bound in `recordKey` order). */
export function deleteByKeysSql(args: { database: string; table: string; recordKey: readonly string[]; count: number }): string {
  return `DELETE FROM ${qt(args.database, args.table)} WHERE ${keysPredicate(args.recordKey, args.count)}`;
}

/**
 * Multi-row upsert for CDC apply: the event's row image wins, except over a target row whose version is
 * strictly newer (with a version column). Equal versions apply: two changes within one clock tick must
 * still land in binlog order (DESIGN §2.5).
 *
 * The guard is evaluated once per row, not once per column: the version column is assigned first, and
 * MySQL/MariaDB evaluate the assignments left to right, each seeing the columns already assigned. After
 * `v = IF(notOlder, VALUES(v), v)`, `v <=> VALUES(v)` holds exactly when the guard held: it passed → v is
 * now VALUES(v); it failed → v is still the target's version, which is non-NULL and either newer than
 * VALUES(v) or beside a NULL VALUES(v). One NULL-safe comparison per column is ~20% of the server's CPU
 * less, on the bench's 14-column rows, than repeating the three-part guard.
 */
export function applyUpsertSql(args: ApplyUpsertArgs): string {
  return `${insertHead(args)}?${applyUpsertTail(args)}`;
}

export interface ApplyUpsertArgs {
  database: string;
  table: string;
  columns: readonly string[];
  recordKey: readonly string[];
  versionColumn?: string | undefined;
}

/** The guard of `applyUpsertSql`: ` ON DUPLICATE KEY UPDATE …`, written after the rows. */
export function applyUpsertTail(args: ApplyUpsertArgs): string {
  const rest = args.columns.filter((c) => !args.recordKey.includes(c) && c !== args.versionColumn);
  if (!args.versionColumn) {
    if (rest.length === 0) return ` ON DUPLICATE KEY UPDATE ${q(args.recordKey[0]!)} = ${q(args.recordKey[0]!)}`;
    return ` ON DUPLICATE KEY UPDATE ${rest.map((c) => `${q(c)} = VALUES(${q(c)})`).join(', ')}`;
  }
  const v = q(args.versionColumn);
  const notOlder = `(${v} IS NULL OR VALUES(${v}) IS NOT NULL AND VALUES(${v}) >= ${v})`;
  const assign = [`${v} = IF(${notOlder}, VALUES(${v}), ${v})`];
  for (const c of rest) assign.push(`${q(c)} = IF(${v} <=> VALUES(${v}), VALUES(${q(c)}), ${q(c)})`);
  return ` ON DUPLICATE KEY UPDATE ${assign.join(', ')}`;
}

/**
 * A built-in routing rule as a check in SQL (verification's fast path): `notProvenIn(slot)` is a 0/1
 * expression, 0 only where the server can prove a row routes to target `slot` (`db * tablesPerDb + table`)
 * exactly as the TypeScript rule (`lambdas/core/routing.ts`) does; 1 where it does not route there, or
 * where the server cannot tell — the caller must then decide in Node.
 *
 * The server takes the first non-NULL shard key column, `k`. TypeScript takes the first column that is not
 * NULL or blank after `trim()`; the checks below only prove keys for which that is the same column, with
 * the same digits where the rule reads them:
 * - `spread`: `k`, leading zeros aside, is exactly `CAST(CAST(k AS UNSIGNED) AS CHAR)` — ASCII digits only
 *   (a zero-padded order number is fine), no sign, no blank, a value ≤ 2^64-1, not all zeros; the rule is
 *   then plain arithmetic on that integer (mod databases × tablesPerDb, which leading zeros do not change).
 * - `last3-mod`: the last 1–3 characters of `k` are ASCII digits (so `ORD-20260601-042` is proven too): the
 *   key is not blank, `trim()` cannot change its end, and both rules read those digits as the same number.
 * Anything else (padding at the end, a blank first column, a sign in `spread`…) is not proven: TypeScript
 * may well route it; Node decides.
 */
export function builtInPlacementSql(
  shardKeys: readonly string[],
  algorithm: 'spread' | 'last3-mod',
  layout: { readonly databases: number; readonly tablesPerDb: number },
): { notProvenIn: (slot: number) => string; routesTo: (slot: number) => string } {
  const { databases: n, tablesPerDb: m } = layout;
  for (const v of [n, m]) if (!Number.isInteger(v) || v < 1) throw new RangeError(`layout counts must be positive integers, got ${n} × ${m}`);
  if (shardKeys.length === 0) throw new RangeError('no shard key columns');
  // COALESCE of plain columns: cheap enough to repeat (no TRIM, no NULLIF, which evaluates its argument twice).
  const k = shardKeys.length === 1 ? q(shardKeys[0]!) : `COALESCE(${shardKeys.map(q).join(', ')})`;
  const u = `CAST(${k} AS UNSIGNED)`;
  const tail = `RIGHT(${k}, 3)`;
  const t = `CAST(${tail} AS UNSIGNED)`;
  // `NOT REGEXP '[^0-9]'` rather than an anchored pattern: `$` would also match before a final newline.
  const sure =
    algorithm === 'spread'
      ? `CAST(${u} AS BINARY) = CAST(TRIM(LEADING '0' FROM ${k}) AS BINARY)`
      : `${tail} <> '' AND ${tail} NOT REGEXP '[^0-9]'`;
  /** A predicate true for the rows the rule places, with certainty, in the table at `slot`. */
  const routesTo = (slot: number): string => {
    if (!Number.isInteger(slot) || slot < 0 || slot >= n * m) throw new RangeError(`slot ${slot} outside ${n} × ${m}`);
    const db = Math.floor(slot / m);
    const table = slot % m;
    // spread: r = u mod n·m, db = r mod n, table = r div n — so slot ⇔ r = table·n + db.
    const routes = algorithm === 'spread' ? `${u} MOD ${n * m} = ${table * n + db}` : `${t} MOD ${n} = ${db} AND ${t} MOD ${m} = ${table}`;
    return `(${sure} AND ${routes})`;
  };
  return { notProvenIn: (slot) => `IF(${routesTo(slot)}, 0, 1)`, routesTo };
}
