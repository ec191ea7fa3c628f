/**
 * DynamoDB state of a migration: plans, segment checkpoints with leases, verification batches,
 * statistics, tombstones and the capture position, each family in its own module under `state/`.
 * Every state change is one single-item conditional write (no transactions: they are not available
 * locally and not needed); checkpoints move forward only and leases fence stale workers by owner and
 * token. A failed condition becomes a typed error (`LeaseHeldError`, `LeaseLostError`) carrying the
 * current item.
 */
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Segment } from '../core/segments.js';
import type { BinlogPosition } from '../core/position.js';
import type { Checkpoint, Throttled, TablePlan, DayStat, VerifyStatus, VerifyBatchState, Tombstone, CaptureState, CutoverState, PausedDdl, SourceChange } from '../core/model.js';
import { CaptureItems, type CaptureCommit, type PositionOrigin } from './state/capture.js';
import { CutoverItems } from './state/cutover.js';
import { PlanItems } from './state/plans.js';
import { SegmentItems, type PageCommit } from './state/segments.js';
import { StatItems } from './state/stats.js';
import { TombstoneItems } from './state/tombstones.js';
import { VerifyItems } from './state/verify.js';
import { awsClientOptions } from './aws-client.js';

export type { PageCommit } from './state/segments.js';

export function dynamoClient(config: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient({ ...awsClientOptions(), ...config }), { marshallOptions: { removeUndefinedValues: true } });
}

export class StateStore {
  private readonly plan: PlanItems;
  private readonly seg: SegmentItems;
  private readonly stat: StatItems;
  private readonly verify: VerifyItems;
  private readonly tomb: TombstoneItems;
  private readonly capture: CaptureItems;
  private readonly cut: CutoverItems;

  constructor(doc: DynamoDBDocumentClient, readonly tableName: string, now: () => number = Date.now) {
    const t = { doc, tableName, now };
    this.seg = new SegmentItems(t);
    this.plan = new PlanItems(t, this.seg);
    this.stat = new StatItems(t);
    this.verify = new VerifyItems(t);
    this.tomb = new TombstoneItems(t);
    this.capture = new CaptureItems(t);
    this.cut = new CutoverItems(t);
  }

  // ---- Plans and table status ----

  getPlan(migrationId: string, table: string): Promise<TablePlan | undefined> {
    return this.plan.get(migrationId, table);
  }

  /** Stores a table's plan and its segments; an existing plan is kept (a plan is made once per migration). */
  savePlanIfAbsent(migrationId: string, plan: TablePlan, segments: readonly Segment[]): Promise<boolean> {
    return this.plan.saveIfAbsent(migrationId, plan, segments);
  }

  plans(migrationId: string): Promise<TablePlan[]> {
    return this.plan.list(migrationId);
  }

  putTableStatus(migrationId: string, table: string, status: Record<string, unknown>): Promise<void> {
    return this.plan.putTableStatus(migrationId, table, status);
  }

  /** The migration's cut-over state (`CUTOVER`), if one was started. */
  getCutover(migrationId: string): Promise<CutoverState | undefined> {
    return this.cut.get(migrationId);
  }

  putCutover(migrationId: string, state: CutoverState): Promise<void> {
    return this.cut.put(migrationId, state);
  }

  tableStatuses(migrationId: string): Promise<Record<string, unknown>[]> {
    return this.plan.tableStatuses(migrationId);
  }

  // ---- Segment checkpoints and leases ----

  /** Creates the segments not stored yet; stored ones are kept. */
  ensureSegments(migrationId: string, table: string, segments: readonly Segment[]): Promise<void> {
    return this.seg.ensure(migrationId, table, segments);
  }

  segments(migrationId: string, table?: string): Promise<Checkpoint[]> {
    return this.seg.list(migrationId, table);
  }

  getSegment(migrationId: string, table: string, segment: number): Promise<Checkpoint | undefined> {
    return this.seg.get(migrationId, table, segment);
  }

  /** Takes the segment's lease (free, expired, or already ours) and marks it RUNNING; a DONE segment comes back as is. */
  acquire(migrationId: string, table: string, segment: number, owner: string, leaseMs: number): Promise<Checkpoint> {
    return this.seg.acquire(migrationId, table, segment, owner, leaseMs);
  }

  /** Commits one page if this worker still holds the lease (same token) and the checkpoint is where it read it. */
  commitPage(migrationId: string, held: Checkpoint, owner: string, leaseMs: number, page: PageCommit): Promise<Checkpoint> {
    return this.seg.commitPage(migrationId, held, owner, leaseMs, page);
  }

  /** Records why the segment's copy is paused and renews the lease, if this worker still holds it (same token). */
  markThrottled(migrationId: string, held: Checkpoint, owner: string, leaseMs: number, throttled: Throttled): Promise<Checkpoint> {
    return this.seg.markThrottled(migrationId, held, owner, leaseMs, throttled);
  }

  /** Gives the lease back (end of a time budget) so the next call need not wait for expiry. */
  release(migrationId: string, held: Checkpoint, owner: string): Promise<void> {
    return this.seg.release(migrationId, held, owner);
  }

  /** Reopens a DONE segment whose range got new rows after its copy ended. */
  reopenSegment(migrationId: string, table: string, segment: number): Promise<boolean> {
    return this.seg.reopen(migrationId, table, segment);
  }

  /** Records a failed attempt (FAILED, error, one more retry), releasing the lease if `owner` holds it. */
  recordError(migrationId: string, table: string, segment: number, owner: string | undefined, error: string): Promise<void> {
    return this.seg.recordError(migrationId, table, segment, owner, error);
  }

  // ---- Statistics ----

  putStats(migrationId: string, stats: readonly DayStat[]): Promise<void> {
    return this.stat.put(migrationId, stats);
  }

  stats(migrationId: string, table?: string): Promise<DayStat[]> {
    return this.stat.list(migrationId, table);
  }

  // ---- Verification (dirty-record state per batch) ----

  putVerifyBatch(migrationId: string, state: VerifyBatchState): Promise<void> {
    return this.verify.putBatch(migrationId, state);
  }

  /** Several batches' states at once (BatchWriteItem, 25 per request). */
  putVerifyBatches(migrationId: string, states: readonly VerifyBatchState[]): Promise<void> {
    return this.verify.putBatches(migrationId, states);
  }

  /** Forgets a segment's (or a table's) previous verification: a new pass may cut different batches. */
  clearVerify(migrationId: string, table: string, segment?: number): Promise<void> {
    return this.verify.clear(migrationId, table, segment);
  }

  verifyBatches(migrationId: string, table?: string, segment?: number): Promise<VerifyBatchState[]> {
    return this.verify.batches(migrationId, table, segment);
  }

  /** Records where a segment's verification begins: each source server's binlog position (`verifyFrom`), or none. */
  beginSegmentVerify(migrationId: string, table: string, segment: number, from: Checkpoint['verifyFrom']): Promise<void> {
    return this.verify.beginSegment(migrationId, table, segment, from);
  }

  /** Records a segment's verification outcome on its checkpoint (what `status` and `finalize` read). */
  markSegmentVerified(migrationId: string, table: string, segment: number, status: VerifyStatus, error?: string): Promise<void> {
    return this.verify.markSegment(migrationId, table, segment, status, error);
  }

  // ---- Tombstones ----

  /** Records deleted rows (before apply deletes them from the target). */
  putTombstones(migrationId: string, stones: readonly Tombstone[]): Promise<void> {
    return this.tomb.put(migrationId, stones);
  }

  /** Tombstones of a table with sort keys in `(lo, hi]`, or `[lo, hi]` with `inclusive` (null = unbounded). */
  tombstones(migrationId: string, table: string, lo: string | null, hi: string | null, inclusive = false): Promise<Tombstone[]> {
    return this.tomb.list(migrationId, table, lo, hi, inclusive);
  }

  // ---- CDC capture position (one item per source server, single-flight lease each; `server` 0 is the first) ----

  /** Records where capture starts (taken at plan time, before the copy reads anything) and of which server; kept if present. */
  initCapture(migrationId: string, position: BinlogPosition, server = 0, origin: PositionOrigin = {}): Promise<CaptureState> {
    return this.capture.init(migrationId, position, server, origin);
  }

  /** Records where capture starts, replacing a stored position (refused while a live lease holds it). */
  restartCapture(migrationId: string, position: BinlogPosition, server = 0, origin: PositionOrigin = {}): Promise<CaptureState> {
    return this.capture.restart(migrationId, position, server, origin);
  }

  /** Records the server the held capture position belongs to, optionally moving it (see CaptureItems.setSource). */
  setCaptureSource(migrationId: string, held: CaptureState, owner: string, next: { sourceId: string; position?: BinlogPosition; gtid?: string }, server = 0): Promise<CaptureState> {
    return this.capture.setSource(migrationId, held, owner, next, server);
  }

  /** Stops capture of `server`: its endpoint reaches another server (see CaptureItems.stopForSource). */
  stopCaptureForSource(migrationId: string, held: CaptureState, owner: string, change: SourceChange, server = 0): Promise<CaptureState> {
    return this.capture.stopForSource(migrationId, held, owner, change, server);
  }

  getCapture(migrationId: string, server = 0): Promise<CaptureState | undefined> {
    return this.capture.get(migrationId, server);
  }

  acquireCapture(migrationId: string, owner: string, leaseMs: number, server = 0): Promise<CaptureState> {
    return this.capture.acquire(migrationId, owner, leaseMs, server);
  }

  /** Moves the capture position forward after its events were accepted by SQS (lease-fenced, forward only). */
  commitCapture(migrationId: string, held: CaptureState, owner: string, leaseMs: number, next: CaptureCommit, server = 0): Promise<CaptureState> {
    return this.capture.commit(migrationId, held, owner, leaseMs, next, server);
  }

  /** Records the DDL capture of `server` stopped before (see CaptureItems.pause). */
  pauseCapture(migrationId: string, held: CaptureState, owner: string, paused: PausedDdl, server = 0): Promise<CaptureState> {
    return this.capture.pause(migrationId, held, owner, paused, server);
  }

  /** Ends a pause: capture of `server` goes on after the DDL. */
  resumeCapture(migrationId: string, held: CaptureState, owner: string, server = 0): Promise<CaptureState> {
    return this.capture.resume(migrationId, held, owner, server);
  }

  /** Replaces a stored plan's column part after a DDL was dealt with (the plan must exist). */
  updatePlanColumns(migrationId: string, table: string, patch: Pick<TablePlan, 'columns' | 'readKinds' | 'literalKinds' | 'binlogColumns' | 'physicalColumns' | 'lastDdl'>): Promise<TablePlan> {
    return this.plan.updateColumns(migrationId, table, patch);
  }

  releaseCapture(migrationId: string, held: CaptureState, owner: string, caughtUpAt?: number, server = 0): Promise<void> {
    return this.capture.release(migrationId, held, owner, caughtUpAt, server);
  }
}
