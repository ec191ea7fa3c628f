/**
 * Routing: which target database and table a row belongs to. Pure.
 *
 * Built-in rules:
 * - `spread` (default): slot = key mod (databases × tablesPerDb); db = slot mod databases,
 *   table = slot div databases. Every one of the N×M tables is used, evenly for sequential keys.
 * - `last3-mod`: the original platform's rule, kept for layouts it built: the last 3 digits of the key,
 *   mod the database count for the db and mod the tables-per-db count for the table. When the two counts
 *   are equal, every row of db k lands in table k (only N of the N×M tables are used): `plan` shows that skew.
 * - custom: any module exporting `route` with the `RouteFn` signature (config `routing.module`).
 */
import { idOf } from './table-id.js';
import { scrollLabel, scrollValue } from './segments.js';
import type { MigrationConfig, TableConfig } from './config.js';
import { expand } from './config.js';
import { RowRoutingError } from './errors.js';

export interface Layout {
  readonly databases: number;
  readonly tablesPerDb: number;
}

export interface Route {
  readonly db: number;
  readonly table: number;
}

/** A routing rule: shard key text (already chosen among the shard key columns) → db/table indexes. */
export type RouteFn = (shardKey: string, layout: Layout) => Route;

const DIGITS = /^\d+$/;

export const spread: RouteFn = (key, { databases, tablesPerDb }) => {
  const count = databases * tablesPerDb;
  // The key's value mod count, digit by digit: exact for any length (r * 10 + 9 stays far below 2^53 for
  // any layout), and no BigInt per row.
  let r = 0;
  for (let i = 0; i < key.length; i++) {
    const d = key.charCodeAt(i) - 48;
    if (d < 0 || d > 9) throw new TypeError(`spread routing needs a non-negative integer key, got ${JSON.stringify(key)}`);
    r = (r * 10 + d) % count;
  }
  if (key.length === 0) throw new TypeError('spread routing needs a non-negative integer key, got ""');
  return { db: r % databases, table: Math.floor(r / databases) };
};

export const last3Mod: RouteFn = (key, { databases, tablesPerDb }) => {
  const tail = key.slice(-3);
  if (!DIGITS.test(tail)) throw new TypeError(`last3-mod routing needs the key to end in digits, got ${JSON.stringify(key)}`);
  const n = Number(tail);
  return { db: n % databases, table: n % tablesPerDb };
};

export const builtInRouters: Readonly<Record<'spread' | 'last3-mod', RouteFn>> = { spread, 'last3-mod': last3Mod };

/** Text of a shard key value as the router sees it; `undefined` for NULL. */
export function shardKeyText(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(value);
  if (typeof value === 'bigint') return value.toString();
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- any other driver value (boolean, decimal text) as String() gives it
  return String(value);
}

export interface TargetName {
  readonly db: number;
  readonly table: number;
  readonly database: string;
  readonly tableName: string;
}

/** A row as an error names it: its columns by name, or a reader of them. */
type RowValues = Readonly<Record<string, unknown>> | ((column: string) => unknown);

function valuesOf(row: RowValues | undefined): (column: string) => unknown {
  return typeof row === 'function' ? row : (c) => row?.[c];
}

/** Routes rows of one table: picks the first non-NULL shard key column, applies the rule, names the target. */
export class TableRouter {
  readonly layout: Layout;
  /** Target names by `db * tablesPerDb + table`, built once (routing runs per row). */
  private readonly names: TargetName[] = [];
  constructor(
    private readonly config: Pick<MigrationConfig, 'target'>,
    private readonly table: TableConfig,
    private readonly routeFn: RouteFn,
  ) {
    this.layout = { databases: config.target.databases, tablesPerDb: table.tablesPerDb };
    for (let db = 0; db < this.layout.databases; db++)
      for (let t = 0; t < this.layout.tablesPerDb; t++)
        this.names.push({
          db,
          table: t,
          database: expand(config.target.databasePattern, 'db', db),
          tableName: expand(table.targetTable, 'table', t),
        });
  }

  /** The shard key text of a row, or a RowRoutingError naming the row and the columns tried. */
  shardKey(row: Record<string, unknown>): string {
    for (const col of this.table.shardKeys) {
      const text = shardKeyText(row[col]);
      if (text !== undefined && text !== '') return text;
    }
    throw this.noShardKey(row);
  }

  private noShardKey(row: RowValues): RowRoutingError {
    const valueOf = valuesOf(row);
    return new RowRoutingError(
      `${this.table.name} row ${scrollLabel(this.table.scrollKey, valueOf)}: every shard key column (${this.table.shardKeys.join(', ')}) is NULL or empty`,
      this.table.name,
      scrollValue(this.table.scrollKey, valueOf),
    );
  }

  route(row: Record<string, unknown>): TargetName {
    return this.routeKey(this.shardKey(row), row);
  }

  /**
   * `route` for rows read as arrays of `columns` (the copy reads pages so: no object per row, and the row
   * is already the statement's list of values). Throws a RangeError if a shard or scroll key column is missing.
   */
  valuesRouter(columns: readonly string[]): (values: readonly unknown[]) => TargetName {
    const at = (c: string) => {
      const i = columns.indexOf(c);
      if (i < 0) throw new RangeError(`${this.table.name}: column ${c} is not among the columns read (${columns.join(', ')})`);
      return i;
    };
    const shard = this.table.shardKeys.map(at);
    const scroll = new Map(this.table.scrollKey.map((c) => [c, at(c)]));
    // One reader of the row being routed, for the errors (each reads it at once): nothing is made per row.
    let current: readonly unknown[] = [];
    const valueOf = (c: string) => current[scroll.get(c)!];
    return (values) => {
      current = values;
      for (const i of shard) {
        const text = shardKeyText(values[i]);
        if (text !== undefined && text !== '') return this.routeKey(text, valueOf);
      }
      throw this.noShardKey(valueOf);
    };
  }

  /** Routes a shard key text; `row` only names the row in the error. */
  routeKey(key: string, row?: RowValues): TargetName {
    let r: Route;
    try {
      r = this.routeFn(key, this.layout);
    } catch (err) {
      const valueOf = valuesOf(row);
      throw new RowRoutingError(
        `${this.table.name} row ${scrollLabel(this.table.scrollKey, valueOf)}: cannot route shard key ${JSON.stringify(key)}: ${(err as Error).message}`,
        this.table.name,
        scrollValue(this.table.scrollKey, valueOf),
      );
    }
    return this.target(r);
  }

  target(r: Route): TargetName {
    const { databases, tablesPerDb } = this.layout;
    if (!Number.isInteger(r.db) || r.db < 0 || r.db >= databases || !Number.isInteger(r.table) || r.table < 0 || r.table >= tablesPerDb)
      throw new RangeError(`router returned ${JSON.stringify(r)} outside ${databases} dbs × ${tablesPerDb} tables`);
    return this.names[r.db * tablesPerDb + r.table]!;
  }

  /** Every target of this table, in (db, table) order. */
  allTargets(): TargetName[] {
    return [...this.names];
  }
}

/** Groups rows by target `database.table`, keeping page order inside each group. */
export function groupByTarget<R extends Record<string, unknown>>(
  router: TableRouter,
  rows: readonly R[],
): Map<string, { target: TargetName; rows: R[] }> {
  return groupRows(rows, (r) => router.route(r));
}

/** `groupByTarget` for any row shape, given its router (e.g. `TableRouter.valuesRouter`). */
export function groupRows<R>(rows: readonly R[], route: (row: R) => TargetName): Map<string, { target: TargetName; rows: R[] }> {
  // Keyed by the target object (the router hands out one per table): no string per row.
  const byTarget = new Map<TargetName, { target: TargetName; rows: R[] }>();
  for (const row of rows) {
    const target = route(row);
    let g = byTarget.get(target);
    if (!g) byTarget.set(target, (g = { target, rows: [] }));
    g.rows.push(row);
  }
  const groups = new Map<string, { target: TargetName; rows: R[] }>();
  for (const g of byTarget.values()) groups.set(idOf(g.target), g);
  return groups;
}

/**
 * Rows per target for a sample of rows (plan's skew preview). Rows that cannot be routed are not
 * fatal here: they are returned with the error naming them, so plan can warn before anything is written.
 */
export function skew(router: TableRouter, rows: readonly Record<string, unknown>[]): { counts: { target: string; rows: number }[]; unroutable: string[] } {
  const counts = new Map<string, number>();
  for (const t of router.allTargets()) counts.set(idOf(t), 0);
  const unroutable: string[] = [];
  for (const row of rows) {
    try {
      const t = router.route(row);
      const id = idOf(t);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    } catch (err) {
      if (!(err instanceof RowRoutingError)) throw err;
      unroutable.push(err.message);
    }
  }
  return { counts: [...counts].map(([target, n]) => ({ target, rows: n })), unroutable };
}
