/**
 * A batch's comparisons: the proof in SQL (built-in rules), the per-table checksum comparison, and the row
 * by row comparison of the tables that differ.
 */
import { idOf } from '../../core/table-id.js';
import type { DirtyRow } from '../../core/model.js';
import { RowComparison } from '../../core/rowdiff.js';
import type { TargetName } from '../../core/routing.js';
import { CRC_COLUMN, type RangeWhere } from '../../core/verify-sql.js';
import { addRow, differingTables, provenEqual, rowsOf, slotOf, sumsByTarget, totalOf, type Sums, type TargetSums } from '../../core/verify-sums.js';
import { inParallel } from '../../core/parallel.js';
import type { TableCheck } from './table-check.js';

/** The proof in SQL of a batch: whether it held, and the target tables' sums it read (in `check.tables` order). */
export interface Proof {
  readonly proven: boolean;
  readonly sourceRows: number;
  readonly targetRows: number;
  readonly sides: readonly TargetSums[];
}

/**
 * The cheapest proof, for a built-in rule (`check.placement`): the source's totals against the totals over
 * every target table, each target table also checking in SQL that every row it holds in the range routes
 * to it. Equal totals and no row out of place mean each table holds exactly its rows. It fails on a
 * difference, a misplaced row, or a key the server cannot route with certainty (a blank, a sign, a tab…).
 */
export async function proveInSql(check: TableCheck, range: RangeWhere): Promise<Proof> {
  const placement = check.placement;
  if (!placement) throw new TypeError(`${check.table.name}: no proof in SQL without a built-in routing rule`);
  const [totals, sides] = await Promise.all([
    check.source.totals(check.crc, range),
    inParallel([...check.tables], check.concurrency, (t) => check.targets.sums(t, check.crc, range, placement.notProvenIn(slotOf(t, check.table.tablesPerDb)))),
  ]);
  const all = totalOf(sides);
  return { proven: provenEqual(totals, all), sourceRows: totals.rows, targetRows: all.rows, sides };
}

/** The tables whose checksums differ from the source rows routed to them, with the rows on each side. */
export interface SumsCompared {
  readonly sourceRows: number;
  readonly targetRows: number;
  readonly dirty: TargetName[];
}

/**
 * The source side per table: every row's CRC (evaluated once, in SQL) with its shard keys, routed in Node
 * and summed per target table — so a row sitting in a table it does not route to changes two tables' sums
 * even though the total is the same.
 */
async function sourceSums(check: TableCheck, range: RangeWhere): Promise<Map<number, Sums>> {
  const { table } = check;
  const cols = [...new Set([...table.scrollKey, ...table.shardKeys])];
  const rows = await check.source.keyedCrcs(cols, check.crc, range);
  return sumsByTarget(rows, cols, (r) => check.router.route(r), check.router.layout.tablesPerDb);
}

/**
 * Per target table, the source rows routed there against the table's own sums: the tables that differ.
 * With a built-in rule the proof in SQL goes first, and the source rows are read only when it fails (against
 * the target sums it read); a custom rule reads source and targets at once.
 */
export async function differingBySums(check: TableCheck, range: RangeWhere): Promise<SumsCompared> {
  let sides: readonly Sums[];
  let source: Map<number, Sums>;
  if (check.placement) {
    const proof = await proveInSql(check, range);
    if (proof.proven) return { sourceRows: proof.sourceRows, targetRows: proof.targetRows, dirty: [] };
    sides = proof.sides;
    source = await sourceSums(check, range);
  } else {
    [source, sides] = await Promise.all([sourceSums(check, range), inParallel([...check.tables], check.concurrency, (t) => check.targets.sums(t, check.crc, range))]);
  }
  const dirty = differingTables(check.tables, check.table.tablesPerDb, source, sides);
  return { sourceRows: rowsOf(source.values()), targetRows: rowsOf(sides), dirty };
}

/** What `compareRows` found. */
export interface Compared {
  readonly sourceRows: number;
  /** The target tables compared row by row (with `narrow`: those whose sums differ from the source rows routed there). */
  readonly compared: TargetName[];
  readonly missing: DirtyRow[];
  readonly different: DirtyRow[];
  readonly extra: DirtyRow[];
}

export interface CompareArgs {
  readonly check: TableCheck;
  /** The target tables to compare (those whose checksums differ, or all). */
  readonly tables: readonly TargetName[];
  /** The rows compared: a key range, or a list of keys (`keysPredicate`). */
  readonly range: RangeWhere;
  /**
   * The sums of every target table in `tables` order, from a proof in SQL that failed: the source read then
   * also carries each row's CRC, summed per table to pick the tables that differ, and only those are read
   * and compared. @default undefined (compare every table in `tables`)
   */
  readonly narrow?: readonly Sums[] | undefined;
}

/** Row by row over `range`, on `tables` only: source rows routed to one of them, and every row of theirs in the range. */
export async function compareRows({ check, tables, range, narrow }: CompareArgs): Promise<Compared> {
  const { table, router } = check;
  const src = await check.source.rows(check.columns, check.readKinds, range, narrow ? check.crc : undefined);
  const routed = src.map((r) => router.route(r));
  if (narrow) {
    const sums = new Map<number, Sums>();
    src.forEach((r, i) => {
      addRow(sums, slotOf(routed[i]!, table.tablesPerDb), Number(r[CRC_COLUMN]));
      delete r[CRC_COLUMN];
    });
    tables = differingTables(tables, table.tablesPerDb, sums, narrow);
  }
  const wanted = new Set(tables.map(idOf));
  const rows = new RowComparison(check.recordKey, check.kinds);
  src.forEach((r, i) => {
    const id = idOf(routed[i]!);
    if (wanted.has(id)) rows.addSource(id, r);
  });
  await inParallel([...tables], check.concurrency, async (t) => rows.compareTarget(idOf(t), await check.targets.rows(t, check.columns, check.readKinds, range)));
  return { sourceRows: src.length, compared: [...tables], missing: rows.missing(), different: rows.different, extra: rows.extra };
}
