/**
 * Schema changes on the source while CDC runs. Capture stops just before a DDL of a migrated table; what
 * happens then is `cdc.onDdl` (capture deals with it itself, `exec` / `ignore`) or the operator's
 * `reshard ddl apply|skip`. Dealing with one means: once every change before it is applied, run it on every
 * target table (apply) or not (skip), take the source table's new columns into the plan (what copy, apply,
 * verify and capture's decoding use), and move capture past it.
 */
import { APPLICABLE, parseDdl, targetStatement, type Ddl } from '../core/ddl.js';
import { columnsAfterAll, type ColumnAfter } from '../core/ddl-columns.js';
import { ghostSwapOf, swapChange, type SwapChange } from '../core/osc.js';
import { sourceTableCount, type MigrationConfig } from '../core/config.js';
import { ConfigError, SchemaError } from '../core/errors.js';
import type { BinlogColumn, CaptureState, PausedDdl, TablePlan } from '../core/model.js';
import { inParallel } from '../core/parallel.js';
import type { BinlogPosition } from '../core/position.js';
import { sourceUnits } from '../core/source-layout.js';
import { columnInfoOf, runTargetDdl, type ColumnInfo } from '../adapters/mysql/schema.js';
import type { DdlStop } from '../adapters/binlog/reader.js';
import { planColumns } from './plan.js';
import { forgetPlans, routerFor, sourceFor, tableConfig, type AppContext } from './context.js';
import type { QueueBacklog } from './settle.js';
import { acquireCaptureForOperator } from './capture-lease.js';
import type { ChangeQueue } from '../adapters/sqs.js';

export type DdlAction = 'apply' | 'skip';

/**
 * The pause record of a DDL where a read stopped, with the reason capture did not deal with it itself. For a
 * RENAME that swaps in a ghost (`swap`), the change is the ghost's ALTERs: the columns they change.
 */
export function pausedDdl(stop: DdlStop, at: BinlogPosition, reason: string, now: number, swap?: SwapChange): PausedDdl {
  return {
    statement: stop.ddl.statement,
    schema: stop.schema,
    kind: stop.ddl.kind,
    changesColumns: swap ? swap.changesColumns : stop.ddl.changesColumns,
    tables: stop.touched.map((t) => ({ physical: `${t.database}.${t.table}`, table: t.as })),
    at,
    next: stop.next,
    ...(stop.nextGtid !== undefined ? { nextGtid: stop.nextGtid } : {}),
    ...(swap ? { swap } : {}),
    pausedAt: now,
    reason,
  };
}

/**
 * What a RENAME where a read stopped does, when it swaps a table read with its ghost (`core/osc.ts`): the
 * ghost's change (from the ghosts capture read, `held`), or why it cannot be followed; undefined for any
 * other DDL.
 */
export async function swapOf(ctx: Pick<AppContext, 'config' | 'store'>, held: Pick<CaptureState, 'ghosts'>, stop: DdlStop): Promise<SwapChange | { readonly why: string } | undefined> {
  const swap = ghostSwapOf(stop.ddl);
  const table = swap && stop.touched.find((t) => `${t.database}.${t.table}` === swap.table);
  if (!swap || !table) return undefined;
  const plan = await ctx.store.getPlan(ctx.config.migrationId, table.as);
  const before = plan?.physicalColumns?.[swap.table] ?? plan?.binlogColumns;
  if (!before) return { why: `no plan of ${table.as} is stored` };
  return swapChange(swap, held.ghosts ?? {}, before.map((c) => c.COLUMN_NAME));
}

/** Why `action` cannot deal with `ddl` (undefined when it can). */
function whyNot(config: MigrationConfig, ddl: PausedDdl, action: DdlAction, force = false): string | undefined {
  const what = `this ${ddl.kind.toUpperCase()}`;
  if (action === 'skip')
    return ddl.changesColumns && !force
      ? `${what} changes columns or rows: skipping it leaves the targets without the change. Run \`reshard ddl apply\`, or change the targets yourself and run \`reshard ddl skip --force\``
      : undefined;
  if (ddl.swap) return undefined; // the ghost's ALTERs run on the targets
  if (!APPLICABLE.has(ddl.kind as Ddl['kind']))
    return `${what} cannot be run on the target tables as it is (only ALTER, TRUNCATE and index changes can). Change the targets to match the source yourself, then run \`reshard ddl skip --force\``;
  if (ddl.kind === 'truncate' && ddl.tables.some((t) => sourceTableCount(config.source, tableConfig({ config }, t.table)) > 1))
    return `${what} empties one physical table of a sharded source, whose rows share target tables with the others: delete its rows from the targets yourself, then run \`reshard ddl skip --force\``;
  return undefined;
}

/** Why capture does not deal with `ddl` itself under `cdc.onDdl` (undefined when it does). */
export function whyStopped(config: MigrationConfig, ddl: PausedDdl): string | undefined {
  switch (config.cdc.onDdl) {
    case 'stop':
      return 'cdc.onDdl is stop';
    case 'ignore':
      return ddl.changesColumns ? `cdc.onDdl is ignore, which goes on only past DDL that changes no column; this ${ddl.kind.toUpperCase()} changes columns or rows` : undefined;
    case 'exec': {
      const why = whyNot(config, ddl, 'apply');
      return why && `cdc.onDdl is exec, but ${why}`;
    }
  }
}

/** Waits until the change queue is empty (every change before the DDL applied); false if `deadlineMs` comes first. */
export async function drained(backlog: QueueBacklog, deadlineMs: number): Promise<boolean> {
  for (;;) {
    if ((await backlog()) === 0) return true;
    if (Date.now() >= deadlineMs) return false;
    await new Promise((r) => setTimeout(r, Math.min(500, Math.max(1, deadlineMs - Date.now()))));
  }
}

export interface DdlOutcome {
  readonly statement: string;
  readonly action: DdlAction | 'exec' | 'ignore';
  /** Target tables the statement ran on, and those that already had the change. */
  readonly targets: number;
  readonly already: number;
  /** Logical tables whose plan took the source's new columns. */
  readonly replanned: readonly string[];
}

/**
 * Deals with a DDL capture stopped before: runs it on every target table of its logical tables (apply),
 * then takes the touched source tables' columns as they are now into their plans. The caller holds the
 * capture lease, has checked `whyNot`, and has waited for the changes before it to be applied.
 */
export async function dealWithDdl(ctx: AppContext, ddl: PausedDdl, action: DdlOutcome['action']): Promise<DdlOutcome> {
  let targets = 0;
  let already = 0;
  const logical = [...new Set(ddl.tables.map((t) => t.table))];
  // What the targets run, in order: the statement, or for a ghost's swap the ghost's ALTERs.
  const statements = ddl.swap ? ddl.swap.alters : [{ statement: ddl.statement, schema: ddl.schema }];
  const parsed = statements.map((s) => parseDdl(s.statement, s.schema));
  const known = parsed.every((p): p is Ddl => p !== undefined) ? parsed : undefined;
  if (action === 'apply' || action === 'exec') {
    if (!known) throw new SchemaError(`not a DDL of a table: ${statements[parsed.findIndex((p) => !p)]!.statement}`);
    for (const name of logical) {
      const all = routerFor(ctx, tableConfig(ctx, name)).allTargets();
      const outcomes = await inParallel(all, 4, async (t) => {
        const each: Awaited<ReturnType<typeof runTargetDdl>>[] = [];
        for (const p of known) each.push(await runTargetDdl(ctx.targets[t.db]!, t, targetStatement(p, t)));
        return each;
      });
      targets += outcomes.length;
      already += outcomes.filter((o) => o.length > 0 && o.every((x) => x === 'already')).length;
    }
  }
  const replanned: string[] = [];
  if (ddl.changesColumns) {
    for (const name of logical) {
      await followSourceColumns(ctx, name, ddl, known, { statement: ddl.statement, at: `${ddl.at.file}:${ddl.at.position}`, action, appliedAt: Date.now() });
      replanned.push(name);
    }
  }
  return { statement: ddl.statement, action, targets, already, replanned };
}

/**
 * Stores the columns of the touched physical tables of `table` right after `ddl` in its plan: the logical
 * columns (names, read and literal kinds) become the changed table's; capture decodes the changed tables with
 * them (for an unsharded source, the plan's own binlog columns; else per physical table). Columns right after
 * it are the ones before it as `parsed` (the statement, or a swapped-in ghost's ALTERs) adds, drops, changes,
 * moves and renames them (`columnsAfterAll`), each defined as the table defines it now — or, gone from the table
 * since (later DDL may have changed it again already), as it was before, renamed. Other column changes (CONVERT
 * TO CHARACTER SET, …) take the table's definition now.
 */
async function followSourceColumns(ctx: AppContext, table: string, ddl: PausedDdl, parsed: readonly Ddl[] | undefined, lastDdl: NonNullable<TablePlan['lastDdl']>): Promise<void> {
  const physical = ddl.tables.filter((t) => t.table === table).map((t) => t.physical);
  const units = sourceUnits(ctx.config.source, tableConfig(ctx, table));
  const plan = await ctx.store.getPlan(ctx.config.migrationId, table);
  if (!plan) throw new SchemaError(`no plan stored for ${table} in migration ${ctx.config.migrationId}: run plan first`);
  let part: ReturnType<typeof planColumns> | undefined;
  const perTable: Record<string, readonly BinlogColumn[]> = { ...(plan.physicalColumns ?? {}) };
  for (const id of physical) {
    const unit = units.find((u) => u.id === id);
    if (!unit) continue;
    const now = await sourceFor(ctx, table, unit.index).columns();
    if (!now.length)
      throw new SchemaError(`${table}: source table ${id} no longer exists after the DDL (${lastDdl.statement}): capture cannot follow it. Restore it, or plan the migration again`);
    const before = plan.physicalColumns?.[id] ?? plan.binlogColumns;
    const after = parsed && before ? columnsAfterAll(parsed, before.map((c) => c.COLUMN_NAME)) : undefined;
    const nowBy = new Map(now.map((c) => [c.name.toLowerCase(), c]));
    const beforeBy = new Map((before ?? []).map((c) => [c.COLUMN_NAME.toLowerCase(), c]));
    const definition = (c: ColumnAfter): ColumnInfo | undefined => {
      const was = c.from === undefined ? undefined : beforeBy.get(c.from.toLowerCase());
      return nowBy.get(c.name.toLowerCase()) ?? (was && { ...columnInfoOf(was), name: c.name });
    };
    const defined = after?.map(definition);
    const columns = defined?.every((d): d is ColumnInfo => d !== undefined) ? defined : now;
    part = planColumns(columns);
    perTable[id] = part.binlogColumns!;
  }
  if (!part) return;
  const sharded = units.length > 1;
  await ctx.store.updatePlanColumns(ctx.config.migrationId, table, {
    columns: part.columns,
    ...(part.readKinds ? { readKinds: part.readKinds } : {}),
    ...(part.literalKinds ? { literalKinds: part.literalKinds } : {}),
    binlogColumns: sharded ? (plan.binlogColumns ?? part.binlogColumns!) : part.binlogColumns!,
    ...(sharded ? { physicalColumns: perTable } : {}),
    lastDdl,
  });
  forgetPlans(ctx);
}

/** The columns capture decodes each physical table of `tables` with, from their stored plans (none for a table without). */
export async function decodeColumns(ctx: Pick<AppContext, 'config' | 'store'>, tables: readonly { database: string; table: string; as: string }[]): Promise<Map<string, readonly BinlogColumn[]>> {
  const plans = new Map<string, TablePlan | undefined>();
  for (const name of new Set(tables.map((t) => t.as))) plans.set(name, await ctx.store.getPlan(ctx.config.migrationId, name));
  const out = new Map<string, readonly BinlogColumn[]>();
  for (const t of tables) {
    const plan = plans.get(t.as);
    const id = `${t.database}.${t.table}`;
    const columns = plan?.physicalColumns?.[id] ?? plan?.binlogColumns;
    if (columns) out.set(id, columns);
  }
  return out;
}

export interface ResolveResult extends DdlOutcome {
  readonly server: number;
  /** Where capture goes on. */
  readonly resumedAt: BinlogPosition;
}

/**
 * `reshard ddl apply|skip`: deals with the DDL capture of source server `server` stopped before, then lets
 * capture go on after it. Refuses (ConfigError, naming why and what to do) when capture is not stopped, when
 * `action` cannot deal with this DDL, or when changes before it are still waiting after `waitMs`.
 */
export async function resolveDdl(ctx: AppContext, queue: Pick<ChangeQueue, 'backlog'>, opts: { server: number; action: DdlAction; force?: boolean; owner: string; waitMs?: number }): Promise<ResolveResult> {
  const { config, store } = ctx;
  const { server, action } = opts;
  let held: CaptureState = await acquireCaptureForOperator(ctx, opts.owner, server);
  try {
    const paused = held.paused;
    if (!paused) throw new ConfigError(`capture of source server #${server} is not stopped before a DDL: nothing to ${action}`);
    const why = whyNot(config, paused, action, opts.force);
    if (why) throw new ConfigError(`${paused.statement}: ${why}`);
    if (action === 'apply' && !(await drained(() => queue.backlog(), Date.now() + (opts.waitMs ?? 60_000)))) {
      throw new ConfigError(`${await queue.backlog()} change message(s) from before the DDL are still waiting to be applied: run this again once apply has caught up (reshard status)`);
    }
    const outcome = await dealWithDdl(ctx, paused, action);
    held = await store.resumeCapture(config.migrationId, held, opts.owner, server);
    return { ...outcome, server, resumedAt: held.position };
  } finally {
    await store.releaseCapture(config.migrationId, held, opts.owner, undefined, server);
  }
}
