/**
 * Verification (VDiff-style): walk each copy segment's key range in batches. Per batch, the fast path
 * computes a CRC per row in SQL on both sides (once per row; FLOAT read through DOUBLE so every stored
 * digit counts) and sums them (count, XOR, SUM). With a built-in rule the server proves the batch by itself
 * when it can: source totals equal to the targets' totals, and every target row checked in SQL to route to
 * its table. Otherwise the source rows' CRCs are routed in Node and summed per target table, against each
 * target table's own sums — equal for every table → CLEAN by checksum. Only the tables that differ
 * are compared row by row with type-aware equality, classifying missing / different (which columns) /
 * extra rows — a row in a table it does not route to makes both tables differ, and counts as extra there
 * and missing where it belongs. With `repair`, differing and missing rows are rewritten from a fresh source
 * read, extras are deleted if the source does not have them there, and the batch is checked again. Each
 * batch's state is kept in DynamoDB, and each segment's outcome on its checkpoint.
 */
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { recordKeyId, recordKeyOf, type TableConfig } from '../core/config.js';
import { diffColumns, type ColumnKinds } from '../core/rowdiff.js';
import { applyUpsertSql, builtInPlacementSql, deleteByKeysSql, keysPredicate, q, qt, rowCrcExpr, selectByKeysSql, selectList, windowPredicates } from '../core/sql.js';
import { keyText, type KeyKind } from '../core/segments.js';
import { builtInRouters, groupByTarget, type TargetName } from '../core/routing.js';
import { dbError } from '../adapters/mysql/pool.js';
import { columnsOf, kindsOf, readKindsOf } from '../adapters/mysql/schema.js';
import { bindKey } from '../adapters/mysql/source.js';
import { inParallel } from '../core/parallel.js';
import { segmentOutcome, VerifyStatus, type VerifyBatchState, type DirtyRow } from '../core/model.js';
import { SchemaError } from '../core/errors.js';
import { planFor, routerFor, tableConfig, type AppContext } from './context.js';

export interface VerifyOptions {
  /** Rows per batch. @default config.verify.batchRows */
  readonly batchRows?: number;
  /** @default config.verify.repair */
  readonly repair?: boolean;
  /** Dirty rows kept per batch in the state (the counts are always exact). @default 200 */
  readonly keepDirty?: number;
  /**
   * Waits until changes in flight have been applied (CDC lag past now). A batch that differs is compared
   * again after it, so a change the source made but CDC has not applied yet is not called dirty (nor
   * "repaired" from a read that CDC is about to overwrite anyway).
   */
  readonly settle?: () => Promise<void>;
}

/** What a pass over some batches found (a whole table, or one verify-batch call). */
export interface VerifyCounts {
  readonly batches: number;
  readonly rowsCompared: number;
  readonly byChecksum: number;
  readonly byRows: number;
  readonly missing: number;
  readonly different: number;
  readonly extra: number;
  readonly repaired: number;
  readonly clean: boolean;
  readonly dirty: DirtyRow[];
}

export interface VerifySummary extends VerifyCounts {
  readonly table: string;
}

export interface VerifySegmentRequest {
  readonly table: string;
  readonly segment: number;
  /** Where the previous call stopped (`null`: start of the segment, forgetting its previous verification). */
  readonly cursor: string | null;
  /** Index of the next batch within the segment. */
  readonly batch: number;
  /** Stop starting new batches after this long. @default unlimited */
  readonly budgetMs?: number;
}

export interface VerifySegmentResult extends VerifyCounts {
  readonly table: string;
  readonly segment: number;
  readonly done: boolean;
  readonly cursor: string | null;
  readonly batch: number;
  /** When done: the segment's outcome over all its batches. */
  readonly status?: VerifyStatus;
}

type Row = Record<string, unknown>;

interface Side {
  rows: number;
  xor: number;
  sum: number;
}

const idOf = (t: TargetName) => `${t.database}.${t.tableName}`;
const slotOf = (t: TargetName, tablesPerDb: number) => t.db * tablesPerDb + t.table;

/** Adds one row's CRC to the sums of the target table at `slot`. */
function addToSide(sides: Map<number, Side>, slot: number, c: number): void {
  let side = sides.get(slot);
  if (!side) sides.set(slot, (side = { rows: 0, xor: 0, sum: 0 }));
  side.rows++;
  side.xor = (side.xor ^ c) >>> 0;
  side.sum += c;
}

/** The target tables (`sides` in the same order) whose count or checksums differ from the source rows routed there. */
function differing(targets: readonly TargetName[], tablesPerDb: number, source: ReadonlyMap<number, Side>, sides: readonly Side[]): TargetName[] {
  const none: Side = { rows: 0, xor: 0, sum: 0 };
  return targets.filter((t, i) => {
    const s = source.get(slotOf(t, tablesPerDb)) ?? none;
    const d = sides[i]!;
    return s.rows !== d.rows || s.xor !== d.xor || s.sum !== d.sum;
  });
}

/** `SELECT … FROM (derived) LIMIT 2^64-1`: the derived table is materialized, so the row CRC is evaluated once per row. */
const ONCE = 'LIMIT 18446744073709551615';

/** Count, BIT_XOR and SUM of the row CRCs of `from` over `where` (and, with `notProven`, `off`: the rows it flags). */
const sumsSql = (from: string, crc: string, where: string, notProven?: string) =>
  notProven
    ? `SELECT COUNT(*) AS n, BIT_XOR(c) AS x, SUM(c) AS s, SUM(p) AS off FROM (SELECT ${crc} AS c, ${notProven} AS p FROM ${from} WHERE ${where} ${ONCE}) d`
    : `SELECT COUNT(*) AS n, BIT_XOR(c) AS x, SUM(c) AS s FROM (SELECT ${crc} AS c FROM ${from} WHERE ${where} ${ONCE}) d`;

const sideOf = (r: RowDataPacket | undefined): Side & { off: number } => ({ rows: Number(r?.n ?? 0), xor: Number(r?.x ?? 0) >>> 0, sum: Number(r?.s ?? 0), off: Number(r?.off ?? 0) });

/**
 * The source side of the fast path: every row's CRC (evaluated once, in SQL) with its shard keys, routed in
 * Node and summed per target table — so a row sitting in a table it does not route to changes two tables'
 * sums even though the total is the same.
 */
async function sourceSides(ctx: AppContext, table: TableConfig, crc: string, where: string, params: unknown[]): Promise<Map<number, Side>> {
  const cols = [...new Set([table.scrollKey, ...table.shardKeys])];
  const [rows] = (await ctx.source.query({ sql: `SELECT ${cols.map(q).join(', ')}, ${crc} AS c FROM ${qt(ctx.config.source.database, table.name)} WHERE ${where}`, rowsAsArray: true }, params)) as unknown as [unknown[][]];
  const router = routerFor(ctx, table);
  const tablesPerDb = router.layout.tablesPerDb;
  // Keyed by the target's index (slotOf): no string per row.
  const out = new Map<number, Side>();
  const probe: Record<string, unknown> = {};
  for (const r of rows) {
    for (let i = 0; i < cols.length; i++) probe[cols[i]!] = r[i];
    addToSide(out, slotOf(router.route(probe), tablesPerDb), Number(r[cols.length]));
  }
  return out;
}

/**
 * One target table's side: count, BIT_XOR and SUM of the row CRCs, all in SQL — and with `notProven` (a
 * `builtInPlacementSql` check for this table), how many of its rows the server cannot prove belong here.
 */
async function targetSide(ctx: AppContext, t: TargetName, crc: string, where: string, params: unknown[], notProven?: string): Promise<Side & { off: number }> {
  let r: RowDataPacket[];
  try {
    // Prepared (each target's statement runs once per batch; mysql2 keeps it per connection): the server
    // parses the long checksum expression once, not 64 times per batch.
    [r] = await ctx.writer.poolFor(t.db).execute<RowDataPacket[]>(sumsSql(qt(t.database, t.tableName), crc, where, notProven), params as Parameters<Pool['execute']>[1]);
  } catch (err) {
    throw dbError(err, `checksumming ${idOf(t)} to verify`);
  }
  return sideOf(r[0]);
}

/** The source's count, BIT_XOR and SUM of the row CRCs over the range, in SQL (no key columns leave the server). */
async function sourceTotals(ctx: AppContext, table: TableConfig, crc: string, where: string, params: unknown[]): Promise<Side> {
  const [r] = await ctx.source.query<RowDataPacket[]>(sumsSql(qt(ctx.config.source.database, table.name), crc, where), params);
  return sideOf(r[0]);
}

/**
 * Fast path over a key range: returns the target tables whose count or checksums differ from the source
 * rows routed to them.
 *
 * With a built-in rule it first tries the cheapest proof: the source's totals against the totals over every
 * target table, each target table also checking in SQL that every row it holds in the range routes to it
 * (`builtInPlacementSql`). Equal totals and no row out of place mean each table holds exactly its rows. If
 * that fails — a difference, a misplaced row, or a key the server cannot route with certainty (a blank, a
 * sign, a tab…) — the source rows are streamed, routed in Node and summed per table, against the target
 * sides already read. A custom rule always takes that second way (source and targets at once).
 */
async function differingTargets(ctx: AppContext, table: TableConfig, crc: string, targets: readonly TargetName[], where: string, params: unknown[]): Promise<{ sourceRows: number; targetRows: number; dirty: TargetName[] }>;
async function differingTargets(ctx: AppContext, table: TableConfig, crc: string, targets: readonly TargetName[], where: string, params: unknown[], defer: true): Promise<{ sourceRows: number; targetRows: number; dirty: TargetName[] } | Unproven>;
async function differingTargets(ctx: AppContext, table: TableConfig, crc: string, targets: readonly TargetName[], where: string, params: unknown[], defer = false): Promise<{ sourceRows: number; targetRows: number; dirty: TargetName[] } | Unproven> {
  const { algorithm } = ctx.config.routing;
  const placement =
    algorithm !== 'custom' && ctx.routeFn === builtInRouters[algorithm]
      ? builtInPlacementSql(table.shardKeys, algorithm, { databases: ctx.config.target.databases, tablesPerDb: table.tablesPerDb })
      : undefined;
  let sides: (Side & { off: number })[];
  let source: Map<number, Side>;
  if (placement) {
    let totals: Side;
    [totals, sides] = await Promise.all([
      sourceTotals(ctx, table, crc, where, params),
      inParallel([...targets], ctx.config.copy.writeConcurrency, (t) => targetSide(ctx, t, crc, where, params, placement.notProvenIn(slotOf(t, table.tablesPerDb)))),
    ]);
    const all = { rows: 0, xor: 0, sum: 0, off: 0 };
    for (const d of sides) {
      all.rows += d.rows;
      all.xor = (all.xor ^ d.xor) >>> 0;
      all.sum += d.sum;
      all.off += d.off;
    }
    if (all.off === 0 && all.rows === totals.rows && all.xor === totals.xor && all.sum === totals.sum) return { sourceRows: totals.rows, targetRows: all.rows, dirty: [] };
    // The caller reads the source rows anyway (row by row): it sums them per table from that read.
    if (defer) return { sourceRows: totals.rows, targetRows: all.rows, dirty: undefined, sides };
    source = await sourceSides(ctx, table, crc, where, params);
  } else {
    [source, sides] = await Promise.all([sourceSides(ctx, table, crc, where, params), inParallel([...targets], ctx.config.copy.writeConcurrency, (t) => targetSide(ctx, t, crc, where, params))]);
  }
  const dirty = differing(targets, table.tablesPerDb, source, sides);
  let sourceRows = 0;
  for (const s of source.values()) sourceRows += s.rows;
  return { sourceRows, targetRows: sides.reduce((a, d) => a + d.rows, 0), dirty };
}

function rangeWhere(table: TableConfig, kind: KeyKind, lo: string | null, hi: string | null): { where: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (lo !== null) {
    parts.push(`${q(table.scrollKey)} > ?`);
    params.push(bindKey(lo, kind));
  }
  if (hi !== null) {
    parts.push(`${q(table.scrollKey)} <= ?`);
    params.push(bindKey(hi, kind));
  }
  parts.push(...windowPredicates(table.timeColumn, table.window, params));
  return { where: parts.length ? parts.join(' AND ') : '1=1', params };
}

const keyId = (rk: readonly string[], r: Row) => recordKeyId(rk.map((k) => r[k]));

const emptyCounts = (): { -readonly [K in keyof VerifyCounts]: VerifyCounts[K] } => ({
  batches: 0,
  rowsCompared: 0,
  byChecksum: 0,
  byRows: 0,
  missing: 0,
  different: 0,
  extra: 0,
  repaired: 0,
  clean: true,
  dirty: [],
});

function addCounts(into: ReturnType<typeof emptyCounts>, c: VerifyCounts): void {
  into.batches += c.batches;
  into.rowsCompared += c.rowsCompared;
  into.byChecksum += c.byChecksum;
  into.byRows += c.byRows;
  into.missing += c.missing;
  into.different += c.different;
  into.extra += c.extra;
  into.repaired += c.repaired;
  into.clean &&= c.clean;
  into.dirty.push(...c.dirty);
}

/** Verifies a whole table: every planned segment from its start (segments in parallel, `copy.concurrency`). */
export async function verifyTable(ctx: AppContext, tableName: string, opts: VerifyOptions = {}): Promise<VerifySummary> {
  const table = tableConfig(ctx, tableName);
  const segments = await ctx.store.segments(ctx.config.migrationId, table.name);
  if (segments.length === 0) throw new SchemaError(`no segments planned for ${table.name} in migration ${ctx.config.migrationId}: run plan first`);
  const parts = await inParallel(segments, ctx.config.copy.concurrency, (cp) => verifySegment(ctx, { table: table.name, segment: cp.segment, cursor: null, batch: 0 }, opts));
  const summary = emptyCounts();
  for (const p of parts) addCounts(summary, p);
  return { table: table.name, ...summary };
}

/**
 * Verifies a segment's key range `(lo, hi]` in batches of `batchRows` source rows, from `cursor`, until the
 * segment ends or the budget runs out; each batch's state is stored as it is decided. When the segment
 * ends, its outcome is recorded on its checkpoint.
 */
export async function verifySegment(ctx: AppContext, req: VerifySegmentRequest, opts: VerifyOptions = {}): Promise<VerifySegmentResult> {
  const started = Date.now();
  const table = tableConfig(ctx, req.table);
  const plan = await planFor(ctx, table.name);
  const cp = await ctx.store.getSegment(ctx.config.migrationId, table.name, req.segment);
  if (!cp) throw new SchemaError(`segment ${table.name}#${req.segment} of migration ${ctx.config.migrationId} does not exist: run plan first`);
  const db = ctx.config.source.database;
  const info = await columnsOf(ctx.source, db, table.name);
  const kinds = kindsOf(info);
  const readKinds = readKindsOf(info);
  const targets = routerFor(ctx, table).allTargets();
  const rk = recordKeyOf(table);
  const batchRows = opts.batchRows ?? ctx.config.verify.batchRows;
  const counts = emptyCounts();
  if (req.cursor === null && req.batch === 0) await ctx.store.clearVerify(ctx.config.migrationId, table.name, req.segment);

  let lo = req.cursor ?? cp.lo;
  let batch = req.batch;
  // Clean batches' states are written 25 at a time (and before this call returns): a call that dies
  // before writing them is rerun from its cursor anyway, which verifies those batches again.
  const cleanStates: VerifyBatchState[] = [];
  const flush = async () => {
    if (cleanStates.length) await ctx.store.putVerifyBatches(ctx.config.migrationId, cleanStates.splice(0));
  };
  const recordClean = async (state: VerifyBatchState) => {
    cleanStates.push(state);
    if (cleanStates.length >= 25) await flush();
  };
  // A batch's upper key: the batchRows-th key after `from` within the segment (index only), else the
  // segment's end. The next batch's is looked up while this batch is verified.
  const edgeAfter = async (from: string | null): Promise<string | null> => {
    const rest = rangeWhere(table, plan.keyKind, from, cp.hi);
    const [edge] = await ctx.source.query<RowDataPacket[]>(
      `SELECT ${q(table.scrollKey)} AS k FROM ${qt(db, table.name)} WHERE ${rest.where} ORDER BY ${q(table.scrollKey)} LIMIT 1 OFFSET ${batchRows - 1}`,
      rest.params,
    );
    return edge[0] ? keyText(edge[0].k, plan.keyKind, `${table.name} verify`) : cp.hi;
  };
  let nextEdge = edgeAfter(lo);
  for (;;) {
    const hi = await nextEdge;
    if (hi !== cp.hi) {
      nextEdge = edgeAfter(hi);
      nextEdge.catch(() => undefined); // awaited on the next round; never an unhandled rejection
    }
    const state = await verifyRange(ctx, table, plan.keyKind, plan.columns, kinds, readKinds, targets, rk, req.segment, lo, hi, batch, opts, recordClean);
    batch++;
    addCounts(counts, {
      batches: 1,
      rowsCompared: state.sourceRows,
      byChecksum: state.method === 'checksum' ? state.sourceRows : 0,
      byRows: state.method === 'rows' ? state.sourceRows : 0,
      missing: state.missing,
      different: state.different,
      extra: state.extra,
      repaired: state.repaired,
      clean: state.status !== VerifyStatus.DIRTY && state.status !== VerifyStatus.FAILED,
      dirty: state.dirtyRows,
    });
    const done = hi === cp.hi;
    lo = hi;
    if (done) {
      await flush();
      const status = segmentOutcome(await ctx.store.verifyBatches(ctx.config.migrationId, table.name, req.segment));
      await ctx.store.markSegmentVerified(ctx.config.migrationId, table.name, req.segment, status);
      return { table: table.name, segment: req.segment, done: true, cursor: lo, batch, status, ...counts };
    }
    if (req.budgetMs !== undefined && Date.now() - started >= req.budgetMs) {
      await flush();
      return { table: table.name, segment: req.segment, done: false, cursor: lo, batch, ...counts };
    }
  }
}

/** A batch the proof in SQL did not settle: the target sides it read, for `compareRows` to narrow with. */
interface Unproven {
  readonly sourceRows: number;
  readonly targetRows: number;
  readonly dirty: undefined;
  readonly sides: readonly Side[];
}

interface Compared {
  sourceRows: number;
  /** The target tables compared row by row (with `narrow`: those whose sums differ from the source rows routed there). */
  compared: TargetName[];
  missing: DirtyRow[];
  different: DirtyRow[];
  extra: DirtyRow[];
  /** Source rows routed to the compared targets, by target id + key. */
  sourceByKey: Map<string, { target: TargetName; row: Row }>;
}

/** The row CRC's column in `compareRows`' source read: a name no validated identifier can have. */
const CRC_COLUMN = 'reshard crc';

/**
 * Row by row over a key range, on `targets` only (the tables whose checksums differ, or all): source rows
 * routed to one of them, and every row of theirs in the range. With `narrow` (the sides of every target
 * table, in `targets` order, from a proof in SQL that failed), the source read also carries each row's CRC:
 * summed per table, it picks the tables that differ, and only those are read and compared.
 */
async function compareRows(ctx: AppContext, table: TableConfig, columns: readonly string[], kinds: ColumnKinds, readKinds: Readonly<Record<string, string>>, targets: readonly TargetName[], rk: readonly string[], where: string, params: unknown[], narrow?: { crc: string; sides: readonly Side[] }): Promise<Compared> {
  const cols = selectList(columns, readKinds);
  const [src] = await ctx.source.query<RowDataPacket[]>(`SELECT ${cols}${narrow ? `, ${narrow.crc} AS ${q(CRC_COLUMN)}` : ''} FROM ${qt(ctx.config.source.database, table.name)} WHERE ${where}`, params);
  const router = routerFor(ctx, table);
  const routed = (src as Row[]).map((r) => router.route(r));
  if (narrow) {
    const sums = new Map<number, Side>();
    (src as Row[]).forEach((r, i) => {
      addToSide(sums, slotOf(routed[i]!, table.tablesPerDb), Number(r[CRC_COLUMN]));
      delete r[CRC_COLUMN];
    });
    targets = differing(targets, table.tablesPerDb, sums, narrow.sides);
  }
  const wanted = new Set(targets.map(idOf));
  const sourceByKey = new Map<string, { target: TargetName; row: Row }>();
  let sourceRows = 0;
  (src as Row[]).forEach((r, i) => {
    sourceRows++;
    const t = routed[i]!;
    if (wanted.has(idOf(t))) sourceByKey.set(`${idOf(t)}|${keyId(rk, r)}`, { target: t, row: r });
  });
  const missing: DirtyRow[] = [];
  const different: DirtyRow[] = [];
  const extra: DirtyRow[] = [];
  const seen = new Set<string>();
  await inParallel([...targets], ctx.config.copy.writeConcurrency, async (t) => {
    let rows: RowDataPacket[];
    try {
      [rows] = await ctx.writer.poolFor(t.db).query<RowDataPacket[]>(`SELECT ${cols} FROM ${qt(t.database, t.tableName)} WHERE ${where}`, params);
    } catch (err) {
      throw dbError(err, `reading ${t.database}.${t.tableName} to verify`);
    }
    for (const r of rows as Row[]) {
      const id = `${t.database}.${t.tableName}|${keyId(rk, r)}`;
      const s = sourceByKey.get(id);
      const key = rk.map((k) => r[k]);
      if (!s) extra.push({ target: `${t.database}.${t.tableName}`, key, kind: 'extra' });
      else {
        seen.add(id);
        const cols = diffColumns(s.row, r, kinds);
        if (cols.length) different.push({ target: `${t.database}.${t.tableName}`, key, kind: 'different', columns: cols });
      }
    }
  });
  for (const [id, s] of sourceByKey) if (!seen.has(id)) missing.push({ target: `${s.target.database}.${s.target.tableName}`, key: rk.map((k) => s.row[k]), kind: 'missing' });
  return { sourceRows, compared: [...targets], missing, different, extra, sourceByKey };
}

async function repairRows(ctx: AppContext, table: TableConfig, columns: readonly string[], readKinds: Readonly<Record<string, string>>, rk: readonly string[], found: Compared): Promise<number> {
  let repaired = 0;
  const router = routerFor(ctx, table);
  // Missing and different: rewrite from a fresh source read (the row may have changed since it was compared).
  const toWrite = [...found.missing, ...found.different];
  if (toWrite.length) {
    const [fresh] = await ctx.source.query<RowDataPacket[]>(selectByKeysSql(ctx.config.source.database, table.name, columns, rk, toWrite.length, readKinds), toWrite.flatMap((d) => d.key));
    for (const g of groupByTarget(router, fresh as Row[]).values()) {
      await ctx.writer
        .poolFor(g.target.db)
        .query(applyUpsertSql({ database: g.target.database, table: g.target.tableName, columns, recordKey: rk }), [g.rows.map((r) => columns.map((c) => r[c] ?? null))]);
      repaired += g.rows.length;
    }
  }
  // Extra: delete where found, unless the source has the row and routes it exactly there.
  for (const d of found.extra) {
    const [still] = await ctx.source.query<RowDataPacket[]>(selectByKeysSql(ctx.config.source.database, table.name, columns, rk, 1), d.key);
    const row = still[0] as Row | undefined;
    if (row) {
      const t = router.route(row);
      if (`${t.database}.${t.tableName}` === d.target) continue;
    }
    const [database, tableName] = d.target.split('.') as [string, string];
    const target = router.allTargets().find((t) => t.database === database && t.tableName === tableName)!;
    await ctx.writer.poolFor(target.db).query(deleteByKeysSql(database, tableName, rk, 1), d.key);
    repaired++;
  }
  return repaired;
}

async function verifyRange(
  ctx: AppContext,
  table: TableConfig,
  kind: KeyKind,
  columns: readonly string[],
  kinds: ColumnKinds,
  readKinds: Readonly<Record<string, string>>,
  targets: TargetName[],
  rk: readonly string[],
  segment: number,
  lo: string | null,
  hi: string | null,
  batch: number,
  opts: VerifyOptions,
  recordClean: (state: VerifyBatchState) => Promise<void>,
): Promise<VerifyBatchState> {
  const { where, params } = rangeWhere(table, kind, lo, hi);
  const base = { table: table.name, segment, batch, lo, hi };
  const crc = rowCrcExpr(columns, readKinds);
  // Fast path: per target table, the source rows routed there against the table's own rows.
  const fast = await differingTargets(ctx, table, crc, targets, where, params, true);
  const clean: VerifyBatchState = { ...base, status: VerifyStatus.CLEAN, method: 'checksum', sourceRows: fast.sourceRows, targetRows: fast.targetRows, missing: 0, different: 0, extra: 0, repaired: 0, dirtyRows: [] };
  if (fast.dirty?.length === 0) {
    await recordClean(clean);
    return clean;
  }
  await ctx.store.putVerifyBatch(ctx.config.migrationId, { ...base, status: VerifyStatus.VERIFYING, method: 'rows', sourceRows: fast.sourceRows, targetRows: fast.targetRows, missing: 0, different: 0, extra: 0, repaired: 0, dirtyRows: [] });
  // Row by row, on the differing tables only (a misplaced row makes both its tables differ). When the proof
  // in SQL did not settle the batch, the source read finds those tables (and none: clean by checksum after all).
  const dirtyCount = (f: Compared) => f.missing.length + f.different.length + f.extra.length;
  let found = fast.dirty
    ? await compareRows(ctx, table, columns, kinds, readKinds, fast.dirty, rk, where, params)
    : await compareRows(ctx, table, columns, kinds, readKinds, targets, rk, where, params, { crc, sides: fast.sides });
  if (found.compared.length === 0) {
    await recordClean(clean);
    return clean;
  }
  // Live migration: a difference may be a change still in flight. Let CDC catch up past now, then compare
  // those keys again (in every table: a change may have moved the row); a key the source changed again
  // meanwhile gets another round.
  for (let round = 0; opts.settle && round < 5 && dirtyCount(found) > 0; round++) {
    await opts.settle();
    const keys = [...new Map([...found.missing, ...found.different, ...found.extra].map((d) => [recordKeyId(d.key), d.key])).values()];
    found = await compareRows(ctx, table, columns, kinds, readKinds, targets, rk, keysPredicate(rk, keys.length), keys.flat());
  }
  const keep = opts.keepDirty ?? 200;
  const first = found;
  let repaired = 0;
  let status: VerifyStatus = dirtyCount(found) === 0 ? VerifyStatus.CLEAN : VerifyStatus.DIRTY;
  if (status === VerifyStatus.DIRTY && (opts.repair ?? ctx.config.verify.repair)) {
    repaired = await repairRows(ctx, table, columns, readKinds, rk, found);
    const again = await differingTargets(ctx, table, crc, targets, where, params);
    status = again.dirty.length === 0 ? VerifyStatus.REPAIRED : VerifyStatus.FAILED;
  }
  const state: VerifyBatchState = {
    ...base,
    status,
    method: 'rows',
    sourceRows: fast.sourceRows,
    targetRows: fast.targetRows,
    missing: first.missing.length,
    different: first.different.length,
    extra: first.extra.length,
    repaired,
    dirtyRows: [...first.missing, ...first.different, ...first.extra].slice(0, keep),
  };
  await ctx.store.putVerifyBatch(ctx.config.migrationId, state);
  return state;
}
