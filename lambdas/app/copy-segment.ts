/**
 * Copies one segment, page after page, within a time budget (gh-ost's row copy, Vitess' vcopier):
 * read a keyset page (the keys, and each row as the source rendered it: a LOAD DATA line or an INSERT
 * literal) → route every row → one guarded write per target table (in parallel: a load or plain INSERT
 * kept only if every row was fresh, else the guarded upsert) → commit the checkpoint (cursor + counts,
 * conditional on lease and progress). The next page is read while the current one is written. A crash
 * anywhere redoes at most the current page, and redoing a page changes nothing (the guarded write never
 * overwrites what a previous attempt wrote). Before each page the throttle (`app/throttle.ts`) may pause the
 * copy: it then waits, keeping its lease and recording why on the checkpoint, until the readings are back under
 * the limits or its time budget ends.
 */
import { groupRows } from '../core/routing.js';
import { keyText } from '../core/segments.js';
import { bytesPerRowOf, pageRows } from '../core/page-size.js';
import { describeError, SchemaError, TransientError } from '../core/errors.js';
import { LoadRefusedError } from '../adapters/mysql/load-data.js';
import type { RowPayload, WriteStats } from '../adapters/mysql/target.js';
import { inParallel } from '../core/parallel.js';
import type { RowRendering } from '../core/sql.js';
import type { TargetName } from '../core/routing.js';
import type { TableConfig } from '../core/config.js';
import { SegmentStatus, tombstoneRange, type Checkpoint } from '../core/model.js';
import { keyColumnsOf, recordKeyId, recordKeyOf } from '../core/config.js';
import { freshPlan, tableConfig, routerFor, sourceFor, sourcesFor, type AppContext } from './context.js';
import { sleep } from '../core/time.js';
import { inWindow } from '../core/window.js';
import { throttleText, throttleWaitMs } from '../core/throttle.js';
import { throttleFor } from './throttle.js';

export interface CopyRequest {
  readonly table: string;
  readonly segment: number;
  /** Milliseconds this call may use (from the Lambda context and the configured budget). */
  readonly budgetMs: number;
}

export interface CopyResult {
  readonly table: string;
  readonly segment: number;
  readonly done: boolean;
  readonly cursor: string | null;
  readonly pagesDone: number;
  readonly rowsCopied: number;
  /** Pages this call committed. */
  readonly pages: number;
  /** Rows this call committed (the `RowsCopied` metric). */
  readonly rows: number;
}

/** A page as read: its rows (arrays of `columns`, then the rendered row if `render`), and how to route them. */
interface Page {
  readonly rows: unknown[][];
  /** The most rows the read asked for: a page with fewer is the segment's last. */
  readonly limit: number;
  readonly columns: readonly string[];
  readonly render: RowRendering | undefined;
  readonly route: (row: readonly unknown[]) => TargetName;
}

export async function copySegment(ctx: AppContext, req: CopyRequest, owner: string): Promise<CopyResult> {
  const { config, store } = ctx;
  const migrationId = config.migrationId;
  const table = tableConfig(ctx, req.table);
  // Read each time a segment starts: a DDL dealt with since changes the columns.
  const plan = await freshPlan(ctx, table.name);
  const router = routerFor(ctx, table);
  const recordKey = recordKeyOf(table);
  const started = Date.now();
  const leaseMs = config.copy.leaseSeconds * 1000;
  const perSegmentRate = config.copy.maxRowsPerSec > 0 ? config.copy.maxRowsPerSec / config.copy.concurrency : 0;

  let cp: Checkpoint = await store.acquire(migrationId, table.name, req.segment, owner, leaseMs);
  if (cp.status === SegmentStatus.DONE) return result(cp, true, 0, 0);
  const reader = sourceFor(ctx, table.name, cp.source);

  // Rows as arrays: either every column of plan.columns, written as they are, or the columns that route and
  // name the row followed by the row as the source rendered it — a LOAD DATA line while the writer loads
  // (`load`/`auto`, tables without BIT columns), else an INSERT literal (`copy.rowLiterals`).
  const kinds = config.copy.rowLiterals ? plan.literalKinds : undefined;
  const lineable = kinds !== undefined && Object.values(kinds).every((k) => k !== 'bit');
  const renderNow = (): RowRendering | undefined => {
    if (!kinds) return undefined;
    return ctx.writer.loadsLines && lineable ? { as: 'line', columns: plan.columns, kinds } : { as: 'literal', columns: plan.columns, kinds };
  };
  const keyColumns = [...new Set([...table.scrollKey, ...keyColumnsOf(table)])];
  // Rows per page: copy.pageSize, fewer for wide rows (copy.pageBytes): the first page at the table's average
  // row length as the server estimates it, each next one at the width of the page before.
  let bytesPerRow = await reader.avgRowBytes();
  const read = async (after: string | null): Promise<Page> => {
    const render = renderNow();
    const columns = render ? keyColumns : plan.columns;
    const limit = pageRows(config.copy, bytesPerRow);
    const rows = await reader.page({
      columns,
      scrollKey: table.scrollKey,
      keyKind: plan.keyKind,
      after,
      upTo: cp.hi,
      timeColumn: table.timeColumn,
      window: table.window,
      limit,
      kinds: plan.readKinds,
      render,
    });
    return { rows, limit, columns, render, route: render ? routeKeys : routeAll };
  };
  const routeKeys = router.valuesRouter(keyColumns);
  const routeAll = router.valuesRouter(plan.columns);

  let pages = 0;
  let rowsThisCall = 0;
  // `copy.maxRowsPerSec` is held from here: a pause of the throttle moves it on, so the copy does not catch up in a burst.
  let pace = { at: started, rows: 0 };
  const throttle = config.throttle.enabled ? throttleFor(ctx) : undefined;
  const deadline = started + req.budgetMs;

  /**
   * Waits while the throttle says so, recording why on the checkpoint (which renews the lease) at the first
   * reading and then at most once a second. False: the time budget ended first.
   */
  const unthrottled = async (): Promise<boolean> => {
    let reason = await throttle!.check();
    if (!reason) return true;
    const since = Date.now();
    let marked = 0;
    let markedText = '';
    for (;;) {
      const now = Date.now();
      const text = throttleText(reason);
      if (now - marked >= 1000 || (text !== markedText && now - marked >= config.throttle.checkIntervalMs)) {
        cp = await store.markThrottled(migrationId, cp, owner, leaseMs, { ...reason, reason: text, since, at: now });
        marked = now;
        markedText = text;
      }
      const wait = throttleWaitMs(Date.now(), deadline, config.throttle.checkIntervalMs);
      if (wait <= 0) return false;
      await sleep(wait);
      reason = await throttle!.check();
      if (!reason) {
        pace = { at: Date.now(), rows: rowsThisCall };
        return true;
      }
    }
  };

  let pending: Promise<Page> | undefined;
  try {
    for (;;) {
      if (throttle && !(await unthrottled())) break;
      await ctx.hooks.beforePage?.(table.name, req.segment, cp.cursor);
      const page = await (pending ?? read(cp.cursor)).catch((err: unknown) => {
        // A column the plan names is gone from the source (a DDL while this segment ran): once the DDL is
        // dealt with the plan has the new columns; the retry reads them.
        if (err instanceof SchemaError && /ER_BAD_FIELD_ERROR/.test(err.message))
          throw new TransientError(`${err.message} (the source table's columns changed: the segment goes on with the plan's columns once the DDL is dealt with)`, { cause: err });
        throw err;
      });
      pending = undefined;
      const { rows, columns, render } = page;
      if (ctx.hooks.afterRead) await ctx.hooks.afterRead(table.name, req.segment, rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]]))));
      const done = rows.length < page.limit;
      bytesPerRow = bytesPerRowOf(rows) ?? bytesPerRow;
      // A row's key text, its columns found once per page (the columns read depend on the page's rendering).
      const at = table.scrollKey.map((c) => columns.indexOf(c));
      const keyOf = (r: readonly unknown[]) => keyText(at.length === 1 ? r[at[0]!] : at.map((i) => r[i]), plan.keyKind, `${table.name} page after ${cp.cursor}`);
      const last = rows[rows.length - 1];
      const cursor = last ? keyOf(last) : cp.cursor;
      // Route the whole page before writing any of it: a row that cannot be routed fails the page untouched.
      const groups = [...groupRows(rows, page.route).values()];
      if (!done) {
        pending = read(cursor);
        pending.catch(() => undefined); // observed below; never an unhandled rejection
      }
      let written = 0;
      let stats: WriteStats[];
      try {
        stats = await inParallel(groups, config.copy.writeConcurrency, async (g) => {
          const s = await ctx.writer.upsert({
            db: g.target.db,
            database: g.target.database,
            table: g.target.tableName,
            columns: plan.columns,
            recordKey,
            versionColumn: table.versionColumn,
            rows: rowPayload(render, g.rows, columns.length),
          });
          await ctx.hooks.afterTableWrite?.(table.name, req.segment, ++written, groups.length);
          return s;
        });
      } catch (err) {
        // The server refused LOAD DATA LOCAL (`auto` then writes INSERTs): the page again, read as literals.
        // What went in already is met again by the guarded write and left as it is.
        if (err instanceof LoadRefusedError && render?.as === 'line' && !ctx.writer.loadsLines) {
          await pending?.catch(() => undefined);
          pending = undefined;
          continue;
        }
        throw err;
      }
      const sum = stats.reduce<WriteStats>((a, s) => ({ inserted: a.inserted + s.inserted, updated: a.updated + s.updated, skipped: a.skipped + s.skipped }), {
        inserted: 0,
        updated: 0,
        skipped: 0,
      });
      // Rows of this page that CDC deleted after the page was read: take them out again (DESIGN §2.5).
      if (config.cdc.enabled && rows.length && cursor !== null) {
        await removeTombstoned(ctx, table, tombstoneRange(plan.keyKind, cp.cursor, cursor, () => rows.map(keyOf)));
      }
      await ctx.hooks.beforeCommit?.(table.name, req.segment);
      cp = await store.commitPage(migrationId, cp, owner, leaseMs, { cursor, rows: rows.length, ...sum, done });
      await ctx.hooks.afterCommit?.(table.name, req.segment, cp.pagesDone);
      pages++;
      rowsThisCall += rows.length;
      // The last page waits too: the segment's rows take their time at the segment's rate, so the next segment
      // (which takes this one's place in the Map) does not start early.
      if (perSegmentRate > 0) {
        const due = ((rowsThisCall - pace.rows) / perSegmentRate) * 1000 - (Date.now() - pace.at);
        if (due > 0) await sleep(Math.min(due, deadline - Date.now()));
      }
      if (done) return result(cp, true, pages, rowsThisCall);
      if (Date.now() >= deadline) break;
    }
    await pending?.catch(() => undefined);
    await store.release(migrationId, cp, owner);
    return result(cp, false, pages, rowsThisCall);
  } catch (err) {
    await pending?.catch(() => undefined);
    await store.recordError(migrationId, table.name, req.segment, owner, describeError(err)).catch(() => undefined);
    throw err;
  }
}

function result(cp: Checkpoint, done: boolean, pages: number, rows: number): CopyResult {
  return { table: cp.table, segment: cp.segment, done, cursor: cp.cursor, pagesDone: cp.pagesDone, rowsCopied: cp.rowsCopied, pages, rows };
}

/**
 * Deletes from the targets the rows in `(after, upTo]` that CDC deleted (tombstones) and that the source
 * no longer has: the copy may have read such a row before the delete and written it after CDC applied it.
 */
async function removeTombstoned(ctx: AppContext, table: TableConfig, range: ReturnType<typeof tombstoneRange>): Promise<void> {
  const stones = await ctx.store.tombstones(ctx.config.migrationId, table.name, range.lo, range.hi, range.inclusive);
  if (!stones.length) return;
  const rk = recordKeyOf(table);
  // Alive in any physical source table (a sharded source's row may be deleted in one and inserted in another),
  // and within the time window (a row updated out of it was deleted by CDC too).
  const keys = stones.map((s) => s.key);
  const columns = table.window && table.timeColumn ? [...new Set([...rk, table.timeColumn])] : rk;
  const present = (await Promise.all(sourcesFor(ctx, table.name).map((r) => r.rowsByKeys({ columns, recordKey: rk, keys, chunk: stones.length }))))
    .flat()
    .filter((r) => !table.timeColumn || inWindow(r[table.timeColumn], table.window));
  const alive = new Set(present.map((r) => recordKeyId(rk.map((k) => r[k]))));
  for (const s of stones) {
    if (alive.has(recordKeyId(s.key))) continue;
    await ctx.writer.deleteByKeys({ target: s, recordKey: rk, keys: [s.key] });
  }
}

/** A group's rows as the writer takes them: the rendered row (the value after the `keys` read columns) or the values. */
function rowPayload(render: RowRendering | undefined, rows: readonly unknown[][], keys: number): RowPayload {
  if (!render) return { kind: 'values', values: rows };
  const rendered = rows.map((r) => r[keys] as Buffer);
  return render.as === 'line' ? { kind: 'lines', lines: rendered } : { kind: 'literals', literals: rendered };
}
