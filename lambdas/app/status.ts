/** The migration's state as `reshard status --json` prints it (a contract others rely on). */
import { SegmentStatus, type CutoverState } from '../core/model.js';
import type { StateStore } from '../adapters/state-store.js';
import type { MigrationConfig } from '../core/config.js';
import { reverseMigrationId } from '../core/reverse-id.js';
import type { BinlogPosition } from '../core/position.js';
import { captureServers, sourceUnits } from '../core/source-layout.js';
import { reverseConfig } from '../core/reverse.js';
import { sourceChangedText } from '../core/source-change.js';
import { ddlTodo, pausedText } from '../core/ddl.js';

export interface SegmentView {
  readonly segment: number;
  /** With a sharded source: the physical source table it copies (`database.table`). */
  readonly source?: string;
  readonly status: SegmentStatus;
  readonly cursor: string | null;
  readonly lo: string | null;
  readonly hi: string | null;
  readonly pagesDone: number;
  readonly rowsCopied: number;
  readonly retries: number;
  readonly error?: string;
  /** The segment's last verification outcome (absent: not verified yet). */
  readonly verifyStatus?: string;
  readonly verifyError?: string;
  /** While its copy is paused by the throttle: why (`Threads_running 31 > 25 on target db 1`). */
  readonly throttled?: string;
}

/** Why a table's copy is paused by the throttle: the most recent reading among its paused segments. */
export interface ThrottledView {
  readonly reason: string;
  readonly metric: string;
  /** null: replica lag unknown (replication not running). */
  readonly value: number | null;
  readonly limit: number;
  readonly where: string;
  /** When the pause began (ms since the epoch). */
  readonly since: number;
  /** The paused segments. */
  readonly segments: number[];
}

export interface PausedView {
  readonly server: number;
  readonly statement: string;
  /** The binlog position capture stopped at (`file:position`, just before the statement). */
  readonly at: string;
  readonly reason: string;
  readonly todo: string;
}

export interface TableView {
  readonly table: string;
  /**
   * PAUSED: capture of a source server holding it is stopped before a DDL of it (`paused`). THROTTLED: running,
   * its copy paused by the throttle (`throttled`).
   */
  readonly status: 'NOT_PLANNED' | 'INIT' | 'RUNNING' | 'THROTTLED' | 'PAUSED' | 'FAILED' | 'DONE';
  /** The DDL capture stopped before, where, why, and what to do. */
  readonly paused?: PausedView;
  readonly throttled?: ThrottledView;
  readonly rowsCopied: number;
  readonly statisticsTotal: number;
  readonly percent: number;
  /** Seconds until rowsCopied reaches the statistics total at the copy's average rate so far (null: done or unknown). */
  readonly etaSeconds: number | null;
  /** Rows verified by the last verification pass, and its findings (0 when never verified). */
  readonly verifiedRows: number;
  readonly dirtyRows: number;
  readonly repairedRows: number;
  /**
   * Copy DONE and — when `verify.enabled` — every segment's last verification is CLEAN or REPAIRED and
   * verification covered at least the statistics total. (With CDC, finalize and the CLI add: lag 0.)
   */
  readonly complete: boolean;
  readonly segments: SegmentView[];
}

export interface MigrationView {
  readonly migrationId: string;
  readonly status: TableView['status'];
  readonly tables: TableView[];
  /** The cut-over, once one was started. */
  readonly cutover?: { readonly status: CutoverState['status']; readonly freeze: CutoverState['freeze']; readonly freezeMs?: number; readonly error?: string };
  /** Reverse replication, once a switch started it (`cutover.reverse`): its capture per target server, and the rollback if one was started. */
  readonly reverse?: ReverseView;
  /** Source servers whose capture is stopped because their endpoint reaches another server (`sourceChangedText`). */
  readonly sourceChanged?: readonly { readonly server: number; readonly text: string }[];
}

export interface ReverseView {
  readonly migrationId: string;
  readonly servers: readonly { readonly server: number; readonly position: BinlogPosition; readonly events: number; readonly lastEventAt?: number; readonly paused?: string; readonly sourceChanged?: string }[];
  readonly rollback?: { readonly status: CutoverState['status']; readonly freezeMs?: number; readonly error?: string };
}

/** Reverse replication's view: where its capture of each target server stands, and the rollback's status. */
async function reverseView(config: MigrationConfig, store: StateStore, cutover: CutoverState): Promise<ReverseView | undefined> {
  if (!cutover.reverseFrom) return undefined;
  const id = reverseMigrationId(config.migrationId);
  const reverseSource = reverseConfig(config).source;
  const [servers, rollback] = await Promise.all([
    Promise.all(cutover.reverseFrom.map(async ({ server, position }) => {
      const state = await store.getCapture(id, server);
      return {
        server,
        position: state?.position ?? position,
        events: state?.events ?? 0,
        ...(state?.lastEventAt !== undefined ? { lastEventAt: state.lastEventAt } : {}),
        // Stopped before a DDL of a target table: `reshard ddl apply|skip --reverse` deals with it.
        ...(state?.paused ? { paused: pausedText(server, state.paused) } : {}),
        // Its endpoint reaches another server: `reshard capture-source accept --reverse` says where to go on.
        ...(state?.sourceChanged ? { sourceChanged: sourceChangedText(reverseSource, server, state.sourceChanged, true) } : {}),
      };
    })),
    store.getCutover(id),
  ]);
  return {
    migrationId: id,
    servers,
    ...(rollback ? { rollback: { status: rollback.status, ...(rollback.freezeMs !== undefined ? { freezeMs: rollback.freezeMs } : {}), ...(rollback.error ? { error: rollback.error } : {}) } } : {}),
  };
}

/** ETA from the average rate since the first segment started (pure, for tests). */
export function etaSeconds(copied: number, total: number, startedAt: number | undefined, now: number): number | null {
  if (copied >= total || startedAt === undefined || copied <= 0 || now <= startedAt) return null;
  const rate = copied / ((now - startedAt) / 1000);
  return Math.round((total - copied) / rate);
}

export async function migrationStatus(config: MigrationConfig, store: StateStore, now = Date.now()): Promise<MigrationView> {
  const [cps, stats, verified, captures, cutover] = await Promise.all([
    store.segments(config.migrationId),
    store.stats(config.migrationId),
    store.verifyBatches(config.migrationId),
    config.cdc.enabled ? Promise.all(captureServers(config).map(async (server) => ({ server, state: await store.getCapture(config.migrationId, server) }))) : [],
    store.getCutover(config.migrationId),
  ]);
  const pausedOf = (table: string): PausedView | undefined => {
    for (const { server, state } of captures) {
      const p = state?.paused;
      if (!p?.tables.some((t) => t.table === table)) continue;
      return { server, statement: p.statement, at: `${p.at.file}:${p.at.position}`, reason: p.reason, todo: ddlTodo(p, server) };
    }
    return undefined;
  };
  const tables = config.tables.map((t): TableView => {
    const units = sourceUnits(config.source, t);
    const mine = cps.filter((c) => c.table === t.name).sort((a, b) => a.segment - b.segment);
    const total = stats.filter((s) => s.table === t.name).reduce((a, s) => a + s.rows, 0);
    const copied = mine.reduce((a, c) => a + c.rowsCopied, 0);
    const has = (s: SegmentStatus) => mine.some((c) => c.status === s);
    const status: TableView['status'] =
      mine.length === 0 ? 'NOT_PLANNED' : has(SegmentStatus.FAILED) ? 'FAILED' : mine.every((c) => c.status === SegmentStatus.DONE) ? 'DONE' : has(SegmentStatus.RUNNING) || copied > 0 ? 'RUNNING' : 'INIT';
    const batches = verified.filter((v) => v.table === t.name);
    const verifiedRows = batches.reduce((a, v) => a + v.sourceRows, 0);
    const dirtyRows = batches.reduce((a, v) => a + (v.status === 'REPAIRED' ? 0 : v.missing + v.different + v.extra), 0);
    const repairedRows = batches.reduce((a, v) => a + v.repaired, 0);
    const paused = pausedOf(t.name);
    // A segment's throttle mark counts while it is younger than a lease: a paused copy renews it every second.
    const throttledSegs = mine.filter((c) => c.status === SegmentStatus.RUNNING && c.throttled && now - c.throttled.at <= Math.max(config.copy.leaseSeconds * 1000, 5000));
    const latest = throttledSegs.reduce<(typeof throttledSegs)[number] | undefined>((a, c) => (!a || c.throttled!.at > a.throttled!.at ? c : a), undefined)?.throttled;
    const throttled: ThrottledView | undefined = latest && {
      reason: latest.reason,
      metric: latest.metric,
      value: latest.value,
      limit: latest.limit,
      where: latest.where,
      since: Math.min(...throttledSegs.map((c) => c.throttled!.since)),
      segments: throttledSegs.map((c) => c.segment),
    };
    const verifiedClean = mine.length > 0 && mine.every((c) => c.verifyStatus === 'CLEAN' || c.verifyStatus === 'REPAIRED');
    return {
      table: t.name,
      status: paused && status !== 'FAILED' ? 'PAUSED' : throttled && status === 'RUNNING' ? 'THROTTLED' : status,
      ...(paused ? { paused } : {}),
      ...(throttled ? { throttled } : {}),
      rowsCopied: copied,
      statisticsTotal: total,
      percent: total > 0 ? Math.min(100, Math.round((copied / total) * 1000) / 10) : status === 'DONE' ? 100 : 0,
      etaSeconds:
        status === 'DONE'
          ? null
          : etaSeconds(
              copied,
              total,
              mine.reduce<number | undefined>((a, c) => (c.startedAt !== undefined && (a === undefined || c.startedAt < a) ? c.startedAt : a), undefined),
              now,
            ),
      verifiedRows,
      dirtyRows,
      repairedRows,
      complete: status === 'DONE' && (!config.verify.enabled || (verifiedClean && verifiedRows >= total)),
      segments: mine.map((c) => ({
        segment: c.segment,
        ...(units.length > 1 ? { source: units[c.source]?.id ?? `#${c.source}` } : {}),
        status: c.status,
        cursor: c.cursor,
        lo: c.lo,
        hi: c.hi,
        pagesDone: c.pagesDone,
        rowsCopied: c.rowsCopied,
        retries: c.retries,
        ...(c.lastError ? { error: c.lastError } : {}),
        ...(c.verifyStatus ? { verifyStatus: c.verifyStatus } : {}),
        ...(c.verifyError ? { verifyError: c.verifyError } : {}),
        ...(throttledSegs.includes(c) ? { throttled: c.throttled!.reason } : {}),
      })),
    };
  });
  const reverse = cutover ? await reverseView(config, store, cutover) : undefined;
  const sourceChanged = captures.flatMap(({ server, state }) => (state?.sourceChanged ? [{ server, text: sourceChangedText(config.source, server, state.sourceChanged) }] : []));
  const order: TableView['status'][] = ['FAILED', 'PAUSED', 'THROTTLED', 'RUNNING', 'INIT', 'NOT_PLANNED', 'DONE'];
  const status = order.find((s) => tables.some((t) => t.status === s)) ?? 'DONE';
  return {
    migrationId: config.migrationId,
    status,
    tables,
    ...(cutover
      ? { cutover: { status: cutover.status, freeze: cutover.freeze, ...(cutover.freezeMs !== undefined ? { freezeMs: cutover.freezeMs } : {}), ...(cutover.error ? { error: cutover.error } : {}) } }
      : {}),
    ...(reverse ? { reverse } : {}),
    ...(sourceChanged.length ? { sourceChanged } : {}),
  };
}
