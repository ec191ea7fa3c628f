/**
 * Copy segments: one checkpoint item per segment (`SEG#table#segment`), moved by lease-fenced,
 * forward-only conditional writes:
 * - progress only moves forward: a page commit requires the `pagesDone` it read;
 * - leases fence stale workers: a commit requires the lease owner *and* the token it was granted,
 *   so a worker whose lease expired and was taken over can never move the checkpoint again.
 */
import { LeaseLostError } from '../../core/errors.js';
import type { Segment } from '../../core/segments.js';
import { SegmentStatus, type Checkpoint, type Throttled, type VerifyStatus } from '../../core/model.js';
import { conditionalWrite, leaseHeldError } from './conditional-write.js';
import { getItem, pk, queryPrefix, segSk, type Item, type StateTable } from './table.js';

/** One copied page: the cursor after it, its counts, and whether it ended the segment. */
export interface PageCommit {
  readonly cursor: string | null;
  readonly rows: number;
  readonly inserted: number;
  readonly updated: number;
  readonly skipped: number;
  readonly done: boolean;
}

function toCheckpoint(item: Item): Checkpoint {
  return {
    table: String(item.table),
    segment: Number(item.segment),
    source: Number(item.source ?? 0),
    lo: (item.lo as string | null | undefined) ?? null,
    hi: (item.hi as string | null | undefined) ?? null,
    cursor: (item.cursor as string | null | undefined) ?? null,
    status: item.status as SegmentStatus,
    pagesDone: Number(item.pagesDone ?? 0),
    rowsCopied: Number(item.rowsCopied ?? 0),
    rowsInserted: Number(item.rowsInserted ?? 0),
    rowsUpdated: Number(item.rowsUpdated ?? 0),
    rowsSkipped: Number(item.rowsSkipped ?? 0),
    retries: Number(item.retries ?? 0),
    leaseToken: Number(item.leaseToken ?? 0),
    ...(item.lastError !== undefined ? { lastError: (item.lastError as string) } : {}),
    ...(item.leaseOwner !== undefined ? { leaseOwner: (item.leaseOwner as string) } : {}),
    ...(item.leaseExpiry !== undefined ? { leaseExpiry: Number(item.leaseExpiry) } : {}),
    ...(item.updatedAt !== undefined ? { updatedAt: Number(item.updatedAt) } : {}),
    ...(item.startedAt !== undefined ? { startedAt: Number(item.startedAt) } : {}),
    ...(item.finishedAt !== undefined ? { finishedAt: Number(item.finishedAt) } : {}),
    ...(item.verifyStatus !== undefined ? { verifyStatus: item.verifyStatus as VerifyStatus } : {}),
    ...(item.verifyError !== undefined ? { verifyError: (item.verifyError as string) } : {}),
    ...(item.verifiedAt !== undefined ? { verifiedAt: Number(item.verifiedAt) } : {}),
    ...(item.verifyFrom !== undefined ? { verifyFrom: item.verifyFrom as NonNullable<Checkpoint['verifyFrom']> } : {}),
    ...(item.throttled !== undefined ? { throttled: item.throttled as Throttled } : {}),
  };
}

export class SegmentItems {
  constructor(private readonly t: StateTable) {}

  /** Creates the segments not stored yet (INIT, cursor at the segment's low bound); stored ones are kept. */
  async ensure(migrationId: string, table: string, segments: readonly Segment[]): Promise<void> {
    const now = this.t.now();
    await Promise.all(
      segments.map((s) =>
        conditionalWrite(this.t, {
          Item: {
            pk: pk(migrationId),
            sk: segSk(table, s.index),
            table,
            segment: s.index,
            source: s.source ?? 0,
            lo: s.lo,
            hi: s.hi,
            cursor: s.lo,
            status: SegmentStatus.INIT,
            pagesDone: 0,
            rowsCopied: 0,
            rowsInserted: 0,
            rowsUpdated: 0,
            rowsSkipped: 0,
            retries: 0,
            leaseToken: 0,
            updatedAt: now,
          },
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      ),
    );
  }

  async list(migrationId: string, table?: string): Promise<Checkpoint[]> {
    return (await queryPrefix(this.t, migrationId, table ? `SEG#${table}#` : 'SEG#')).map(toCheckpoint);
  }

  async get(migrationId: string, table: string, segment: number): Promise<Checkpoint | undefined> {
    const item = await getItem(this.t, { pk: pk(migrationId), sk: segSk(table, segment) });
    return item && toCheckpoint(item);
  }

  /**
   * Takes the segment's lease for `owner` (free, expired, or already ours) and marks it RUNNING.
   * A DONE segment is returned as is, without a lease.
   */
  async acquire(migrationId: string, table: string, segment: number, owner: string, leaseMs: number): Promise<Checkpoint> {
    const now = this.t.now();
    const item = await conditionalWrite(
      this.t,
      {
        Key: { pk: pk(migrationId), sk: segSk(table, segment) },
        UpdateExpression: 'SET leaseOwner = :o, leaseExpiry = :exp, leaseToken = leaseToken + :one, #st = :running, updatedAt = :now, startedAt = if_not_exists(startedAt, :now)',
        ConditionExpression: 'attribute_exists(sk) AND #st <> :done AND (attribute_not_exists(leaseOwner) OR leaseExpiry < :now OR leaseOwner = :o)',
        ExpressionAttributeNames: { '#st': 'status' },
        ExpressionAttributeValues: { ':o': owner, ':exp': now + leaseMs, ':one': 1, ':running': SegmentStatus.RUNNING, ':now': now, ':done': SegmentStatus.DONE },
      },
      (current) => {
        if (!current) throw new LeaseLostError(`segment ${table}#${segment} of ${migrationId} does not exist: run plan first`);
        if (current.status === SegmentStatus.DONE) return current;
        throw leaseHeldError(`segment ${table}#${segment}`, toCheckpoint(current));
      },
    );
    return toCheckpoint(item);
  }

  /**
   * Commits one page (a retry of a commit that took effect, its response lost, returns the checkpoint it made): moves the cursor forward, adds the counts and renews the lease — only if this
   * worker still holds the lease with the same token and the checkpoint is still at `held.pagesDone`.
   */
  async commitPage(migrationId: string, held: Checkpoint, owner: string, leaseMs: number, page: PageCommit): Promise<Checkpoint> {
    const now = this.t.now();
    const item = await conditionalWrite(
      this.t,
      {
        Key: { pk: pk(migrationId), sk: segSk(held.table, held.segment) },
        UpdateExpression:
          'SET #c = :c, pagesDone = pagesDone + :one, rowsCopied = rowsCopied + :n, rowsInserted = rowsInserted + :ins, rowsUpdated = rowsUpdated + :upd, rowsSkipped = rowsSkipped + :skp, #st = :st, updatedAt = :now' +
          // The last page ends the segment and gives the lease back; any other renews it.
          (page.done ? ', finishedAt = :now REMOVE leaseOwner, leaseExpiry, lastError, throttled' : ', leaseExpiry = :exp REMOVE throttled'),
        ConditionExpression: 'leaseOwner = :o AND leaseToken = :tok AND leaseExpiry >= :now AND pagesDone = :p',
        ExpressionAttributeNames: { '#c': 'cursor', '#st': 'status' },
        ExpressionAttributeValues: {
          ':c': page.cursor,
          ':one': 1,
          ':n': page.rows,
          ':ins': page.inserted,
          ':upd': page.updated,
          ':skp': page.skipped,
          ...(page.done ? {} : { ':exp': now + leaseMs }),
          ':st': page.done ? SegmentStatus.DONE : SegmentStatus.RUNNING,
          ':now': now,
          ':o': owner,
          ':tok': held.leaseToken,
          ':p': held.pagesDone,
        },
      },
      (found) => {
        const current = found && toCheckpoint(found);
        // This very commit took effect and its response was lost (the SDK sent it again): done, not lost.
        if (current && tookEffect(current, held, owner, page)) return found;
        throw new LeaseLostError(
          `checkpoint of ${held.table}#${held.segment} not moved: lease or progress changed (held token ${held.leaseToken} at page ${held.pagesDone}, now owner ${current?.leaseOwner ?? '-'} token ${current?.leaseToken} page ${current?.pagesDone})`,
          current as unknown as Item,
        );
      },
    );
    return toCheckpoint(item);
  }

  /**
   * Records why the segment's copy is paused (`throttled`) and renews the lease — only if this worker still holds
   * it with the same token (else LeaseLostError). The next page committed clears it.
   */
  async markThrottled(migrationId: string, held: Checkpoint, owner: string, leaseMs: number, throttled: Throttled): Promise<Checkpoint> {
    const now = this.t.now();
    const item = await conditionalWrite(
      this.t,
      {
        Key: { pk: pk(migrationId), sk: segSk(held.table, held.segment) },
        UpdateExpression: 'SET throttled = :th, leaseExpiry = :exp, updatedAt = :now',
        ConditionExpression: 'leaseOwner = :o AND leaseToken = :tok AND leaseExpiry >= :now',
        ExpressionAttributeValues: { ':th': throttled, ':exp': now + leaseMs, ':now': now, ':o': owner, ':tok': held.leaseToken },
      },
      (found) => {
        const current = found && toCheckpoint(found);
        throw new LeaseLostError(
          `lease of ${held.table}#${held.segment} not renewed while throttled: lease changed (held token ${held.leaseToken}, now owner ${current?.leaseOwner ?? '-'} token ${current?.leaseToken})`,
          current as unknown as Item,
        );
      },
    );
    return toCheckpoint(item);
  }

  /** Gives the lease back (end of a time budget) so the next call need not wait for expiry; a lost lease is left alone. */
  async release(migrationId: string, held: Checkpoint, owner: string): Promise<void> {
    await conditionalWrite(this.t, {
      Key: { pk: pk(migrationId), sk: segSk(held.table, held.segment) },
      UpdateExpression: 'REMOVE leaseOwner, leaseExpiry',
      ConditionExpression: 'leaseOwner = :o AND leaseToken = :tok',
      ExpressionAttributeValues: { ':o': owner, ':tok': held.leaseToken },
    });
  }

  /**
   * Reopens a DONE segment whose range got new rows after its copy ended (the open-ended last segment):
   * the copy resumes from its cursor, and its verification is due again.
   */
  async reopen(migrationId: string, table: string, segment: number): Promise<boolean> {
    const reopened = await conditionalWrite(this.t, {
      Key: { pk: pk(migrationId), sk: segSk(table, segment) },
      UpdateExpression: 'SET #st = :running, updatedAt = :now REMOVE finishedAt, verifyStatus, verifiedAt, verifyError, verifyFrom',
      ConditionExpression: '#st = :done',
      ExpressionAttributeNames: { '#st': 'status' },
      ExpressionAttributeValues: { ':running': SegmentStatus.RUNNING, ':done': SegmentStatus.DONE, ':now': this.t.now() },
    });
    return reopened !== undefined;
  }

  /**
   * Records a failed attempt: the segment is FAILED with the error and one more retry counted, and the
   * lease is released if this owner holds it. The next attempt (a Step Functions retry, a redrive, a rerun)
   * takes the segment RUNNING again from its checkpoint; after the last one it stays FAILED. A DONE segment
   * stays DONE.
   */
  async recordError(migrationId: string, table: string, segment: number, owner: string | undefined, error: string): Promise<void> {
    const key = { pk: pk(migrationId), sk: segSk(table, segment) };
    const values = { ':e': error, ':one': 1, ':now': this.t.now(), ':failed': SegmentStatus.FAILED, ':done': SegmentStatus.DONE };
    const names = { '#st': 'status' };
    if (owner) {
      const released = await conditionalWrite(this.t, {
        Key: key,
        UpdateExpression: 'SET #st = :failed, lastError = :e, retries = retries + :one, updatedAt = :now REMOVE leaseOwner, leaseExpiry',
        ConditionExpression: 'leaseOwner = :o AND #st <> :done',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ...values, ':o': owner },
      });
      if (released) return;
    }
    await conditionalWrite(this.t, {
      Key: key,
      UpdateExpression: 'SET #st = :failed, lastError = :e, retries = retries + :one, updatedAt = :now',
      ConditionExpression: 'attribute_exists(sk) AND #st <> :done',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
  }
}

/**
 * Whether `current` is what committing `page` on `held` made: the next page, at its cursor, under the same lease
 * token, still ours (or given back, for the last page).
 */
function tookEffect(current: Checkpoint, held: Checkpoint, owner: string, page: PageCommit): boolean {
  return (
    current.leaseToken === held.leaseToken &&
    current.pagesDone === held.pagesDone + 1 &&
    current.cursor === page.cursor &&
    (page.done ? current.status === SegmentStatus.DONE && current.leaseOwner === undefined : current.leaseOwner === owner)
  );
}
