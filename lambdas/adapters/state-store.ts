/**
 * DynamoDB state: plans, segment checkpoints with leases, statistics. Every state change is one
 * single-item conditional write (no transactions: they are not available locally and not needed):
 * - progress only moves forward: a checkpoint commit requires the `pagesDone` it read;
 * - leases fence stale workers: a commit requires the lease owner *and* the token it was granted,
 *   so a worker whose lease expired and was taken over can never move the checkpoint again.
 * `ConditionalCheckFailedException` is turned into typed errors carrying the current item.
 */
import { ConditionalCheckFailedException, DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { LeaseHeldError, LeaseLostError } from '../core/errors.js';
import type { Segment } from '../core/segments.js';
import type { BinlogPosition } from '../core/position.js';
import { SegmentStatus, VerifyStatus, type Checkpoint, type TablePlan, type DayStat, type DirtyRow, type VerifyBatchState, type Tombstone, type CaptureState } from '../core/model.js';





const pk = (migrationId: string) => `MIG#${migrationId}`;

/**
 * Tombstones are spread over this many partition keys (`MIG#id#TOMB<n>`, n from a hash of the key): apply
 * writes one per delete while the copy runs, more than one DynamoDB partition takes (1,000 writes/s).
 */
export const TOMB_PARTITIONS = 16;
const tombPk = (migrationId: string, sortKey: string) => {
  let h = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < sortKey.length; i++) h = Math.imul(h ^ sortKey.charCodeAt(i), 0x01000193);
  return `${pk(migrationId)}#TOMB${(h >>> 0) % TOMB_PARTITIONS}`;
};
const segSk = (table: string, segment: number) => `SEG#${table}#${String(segment).padStart(6, '0')}`;
/** `VERIFY#table#segment#` (a segment's prefix), or with `batch` one batch's key. */
const verifySk = (table: string, segment: number, batch?: number) =>
  `VERIFY#${table}#${String(segment).padStart(6, '0')}#${batch === undefined ? '' : String(batch).padStart(6, '0')}`;

export function dynamoClient(config: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(config), { marshallOptions: { removeUndefinedValues: true } });
}

function toCheckpoint(item: Record<string, unknown>): Checkpoint {
  return {
    table: String(item.table),
    segment: Number(item.segment),
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
    ...(item.lastError !== undefined ? { lastError: String(item.lastError) } : {}),
    ...(item.leaseOwner !== undefined ? { leaseOwner: String(item.leaseOwner) } : {}),
    ...(item.leaseExpiry !== undefined ? { leaseExpiry: Number(item.leaseExpiry) } : {}),
    ...(item.updatedAt !== undefined ? { updatedAt: Number(item.updatedAt) } : {}),
    ...(item.startedAt !== undefined ? { startedAt: Number(item.startedAt) } : {}),
    ...(item.finishedAt !== undefined ? { finishedAt: Number(item.finishedAt) } : {}),
    ...(item.verifyStatus !== undefined ? { verifyStatus: item.verifyStatus as VerifyStatus } : {}),
    ...(item.verifyError !== undefined ? { verifyError: String(item.verifyError) } : {}),
    ...(item.verifiedAt !== undefined ? { verifiedAt: Number(item.verifiedAt) } : {}),
  };
}

export interface PageCommit {
  readonly cursor: string | null;
  readonly rows: number;
  readonly inserted: number;
  readonly updated: number;
  readonly skipped: number;
  readonly done: boolean;
}

export class StateStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  private queryAll(migrationId: string, prefix: string): Promise<Record<string, unknown>[]> {
    return this.queryPages('pk = :pk AND begins_with(sk, :p)', { ':pk': pk(migrationId), ':p': prefix });
  }

  /** Every item a (consistent) key condition matches, page after page. */
  private async queryPages(keyCondition: string, values: Record<string, unknown>): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out: QueryCommandOutput = await this.doc.send(
        new QueryCommand({ TableName: this.tableName, KeyConditionExpression: keyCondition, ExpressionAttributeValues: values, ConsistentRead: true, ExclusiveStartKey: start }),
      );
      items.push(...((out.Items ?? []) as Record<string, unknown>[]));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  async getPlan(migrationId: string, table: string): Promise<TablePlan | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: pk(migrationId), sk: `PLAN#${table}` }, ConsistentRead: true }));
    return out.Item as TablePlan | undefined;
  }

  /** Stores a table's plan and its segments; an existing plan is kept (a plan is made once per migration). */
  async savePlanIfAbsent(migrationId: string, plan: TablePlan, segments: readonly Segment[]): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: pk(migrationId), sk: `PLAN#${plan.table}`, ...plan },
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
    // Segments are written after the plan: a crash in between leaves a plan whose missing segments
    // `ensureSegments` (called on every plan) creates.
    await this.ensureSegments(migrationId, plan.table, segments);
    return true;
  }

  async ensureSegments(migrationId: string, table: string, segments: readonly Segment[]): Promise<void> {
    const now = this.now();
    await Promise.all(
      segments.map(async (s) => {
        try {
          await this.doc.send(
            new PutCommand({
              TableName: this.tableName,
              Item: {
                pk: pk(migrationId),
                sk: segSk(table, s.index),
                table,
                segment: s.index,
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
          );
        } catch (err) {
          if (!(err instanceof ConditionalCheckFailedException)) throw err;
        }
      }),
    );
  }

  async segments(migrationId: string, table?: string): Promise<Checkpoint[]> {
    const items = await this.queryAll(migrationId, table ? `SEG#${table}#` : 'SEG#');
    return items.map(toCheckpoint);
  }

  async plans(migrationId: string): Promise<TablePlan[]> {
    return (await this.queryAll(migrationId, 'PLAN#')) as unknown as TablePlan[];
  }

  async getSegment(migrationId: string, table: string, segment: number): Promise<Checkpoint | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: pk(migrationId), sk: segSk(table, segment) }, ConsistentRead: true }));
    return out.Item ? toCheckpoint(out.Item) : undefined;
  }

  /**
   * Takes the segment's lease for `owner` (free, expired, or already ours) and marks it RUNNING.
   * A DONE segment is returned as is, without a lease.
   */
  async acquire(migrationId: string, table: string, segment: number, owner: string, leaseMs: number): Promise<Checkpoint> {
    const now = this.now();
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: pk(migrationId), sk: segSk(table, segment) },
          UpdateExpression: 'SET leaseOwner = :o, leaseExpiry = :exp, leaseToken = leaseToken + :one, #st = :running, updatedAt = :now, startedAt = if_not_exists(startedAt, :now)',
          ConditionExpression: 'attribute_exists(sk) AND #st <> :done AND (attribute_not_exists(leaseOwner) OR leaseExpiry < :now OR leaseOwner = :o)',
          ExpressionAttributeNames: { '#st': 'status' },
          ExpressionAttributeValues: { ':o': owner, ':exp': now + leaseMs, ':one': 1, ':running': SegmentStatus.RUNNING, ':now': now, ':done': SegmentStatus.DONE },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toCheckpoint(out.Attributes!);
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      const current = await this.getSegment(migrationId, table, segment);
      if (!current) throw new LeaseLostError(`segment ${table}#${segment} of ${migrationId} does not exist: run plan first`);
      if (current.status === SegmentStatus.DONE) return current;
      throw new LeaseHeldError(
        `segment ${table}#${segment} is leased by ${current.leaseOwner} until ${new Date(current.leaseExpiry ?? 0).toISOString()}`,
        current.leaseOwner,
        current.leaseExpiry,
      );
    }
  }

  /**
   * Commits one page: moves the cursor forward, adds the counts and renews the lease — only if this
   * worker still holds the lease with the same token and the checkpoint is still at `expectPages`.
   */
  async commitPage(migrationId: string, held: Checkpoint, owner: string, leaseMs: number, page: PageCommit): Promise<Checkpoint> {
    const now = this.now();
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: pk(migrationId), sk: segSk(held.table, held.segment) },
          UpdateExpression:
            'SET #c = :c, pagesDone = pagesDone + :one, rowsCopied = rowsCopied + :n, rowsInserted = rowsInserted + :ins, rowsUpdated = rowsUpdated + :upd, rowsSkipped = rowsSkipped + :skp, #st = :st, updatedAt = :now' +
            // The last page ends the segment and gives the lease back; any other renews it.
            (page.done ? ', finishedAt = :now REMOVE leaseOwner, leaseExpiry, lastError' : ', leaseExpiry = :exp'),
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
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toCheckpoint(out.Attributes!);
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      const current = await this.getSegment(migrationId, held.table, held.segment);
      throw new LeaseLostError(
        `checkpoint of ${held.table}#${held.segment} not moved: lease or progress changed (held token ${held.leaseToken} at page ${held.pagesDone}, now owner ${current?.leaseOwner ?? '-'} token ${current?.leaseToken} page ${current?.pagesDone})`,
        current as unknown as Record<string, unknown>,
      );
    }
  }

  /** Gives the lease back (end of a time budget) so the next call need not wait for expiry. */
  async release(migrationId: string, held: Checkpoint, owner: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: pk(migrationId), sk: segSk(held.table, held.segment) },
          UpdateExpression: 'REMOVE leaseOwner, leaseExpiry',
          ConditionExpression: 'leaseOwner = :o AND leaseToken = :tok',
          ExpressionAttributeValues: { ':o': owner, ':tok': held.leaseToken },
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }

  /**
   * Reopens a DONE segment whose range got new rows after its copy ended (the open-ended last segment):
   * the copy resumes from its cursor, and its verification is due again.
   */
  async reopenSegment(migrationId: string, table: string, segment: number): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: pk(migrationId), sk: segSk(table, segment) },
          UpdateExpression: 'SET #st = :running, updatedAt = :now REMOVE finishedAt, verifyStatus, verifiedAt, verifyError',
          ConditionExpression: '#st = :done',
          ExpressionAttributeNames: { '#st': 'status' },
          ExpressionAttributeValues: { ':running': SegmentStatus.RUNNING, ':done': SegmentStatus.DONE, ':now': this.now() },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  /**
   * Records a failed attempt: the segment is FAILED with the error and one more retry counted, and the
   * lease is released if this owner holds it. The next attempt (a Step Functions retry, a redrive, a rerun)
   * takes the segment RUNNING again from its checkpoint; after the last one it stays FAILED. A DONE segment
   * stays DONE.
   */
  async recordError(migrationId: string, table: string, segment: number, owner: string | undefined, error: string): Promise<void> {
    const key = { pk: pk(migrationId), sk: segSk(table, segment) };
    const values = { ':e': error, ':one': 1, ':now': this.now(), ':failed': SegmentStatus.FAILED, ':done': SegmentStatus.DONE };
    const names = { '#st': 'status' };
    if (owner) {
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: 'SET #st = :failed, lastError = :e, retries = retries + :one, updatedAt = :now REMOVE leaseOwner, leaseExpiry',
            ConditionExpression: 'leaseOwner = :o AND #st <> :done',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: { ...values, ':o': owner },
          }),
        );
        return;
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      }
    }
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'SET #st = :failed, lastError = :e, retries = retries + :one, updatedAt = :now',
          ConditionExpression: 'attribute_exists(sk) AND #st <> :done',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }

  async putStats(migrationId: string, stats: readonly DayStat[]): Promise<void> {
    const now = this.now();
    // One item per day (overwriting stale counts): a year of days is 15 BatchWriteItem requests, not 365 puts.
    await this.batchWrite(
      stats.map((s) => ({ PutRequest: { Item: { pk: pk(migrationId), sk: `STAT#${s.table}#${s.day}`, ...s, computedAt: now } } })),
      'statistics write',
    );
  }

  async stats(migrationId: string, table?: string): Promise<DayStat[]> {
    const items = await this.queryAll(migrationId, table ? `STAT#${table}#` : 'STAT#');
    return items.map((i) => ({ table: String(i.table), day: String(i.day), rows: Number(i.rows) }));
  }

  async putTableStatus(migrationId: string, table: string, status: Record<string, unknown>): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { pk: pk(migrationId), sk: `TABLE#${table}`, table, ...status, updatedAt: this.now() } }));
  }

  async tableStatuses(migrationId: string): Promise<Record<string, unknown>[]> {
    return this.queryAll(migrationId, 'TABLE#');
  }

  // ---- Verification (dirty-record state per batch) ----

  async putVerifyBatch(migrationId: string, state: VerifyBatchState): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: this.verifyItem(migrationId, state) }));
  }

  /** Several batches' states at once (BatchWriteItem, 25 per request). */
  async putVerifyBatches(migrationId: string, states: readonly VerifyBatchState[]): Promise<void> {
    await this.batchWrite(states.map((st) => ({ PutRequest: { Item: this.verifyItem(migrationId, st) } })), 'verification state');
  }

  private verifyItem(migrationId: string, state: VerifyBatchState): Record<string, unknown> {
    const now = this.now();
    return { pk: pk(migrationId), sk: verifySk(state.table, state.segment, state.batch), ...state, updatedAt: now, expiresAt: Math.floor(now / 1000) + 30 * 86_400 };
  }

  /** Forgets a segment's (or a table's) previous verification: a new pass may cut different batches. */
  async clearVerify(migrationId: string, table: string, segment?: number): Promise<void> {
    const items = await this.queryAll(migrationId, segment === undefined ? `VERIFY#${table}#` : verifySk(table, segment));
    await this.batchWrite(items.map((it) => ({ DeleteRequest: { Key: { pk: it.pk, sk: it.sk } } })), 'verification state delete');
    if (segment !== undefined)
      await this.doc
        .send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: pk(migrationId), sk: segSk(table, segment) },
            UpdateExpression: 'SET verifyStatus = :v, updatedAt = :now REMOVE verifyError, verifiedAt',
            ConditionExpression: 'attribute_exists(sk)',
            ExpressionAttributeValues: { ':v': VerifyStatus.VERIFYING, ':now': this.now() },
          }),
        )
        .catch((err: unknown) => {
          if (!(err instanceof ConditionalCheckFailedException)) throw err;
        });
  }

  async verifyBatches(migrationId: string, table?: string, segment?: number): Promise<VerifyBatchState[]> {
    const prefix = table === undefined ? 'VERIFY#' : segment === undefined ? `VERIFY#${table}#` : verifySk(table, segment);
    return (await this.queryAll(migrationId, prefix)) as unknown as VerifyBatchState[];
  }

  /** Records a segment's verification outcome on its checkpoint (what `status` and `finalize` read). */
  async markSegmentVerified(migrationId: string, table: string, segment: number, status: VerifyStatus, error?: string): Promise<void> {
    const now = this.now();
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: pk(migrationId), sk: segSk(table, segment) },
        UpdateExpression: `SET verifyStatus = :v, verifiedAt = :now, updatedAt = :now${error ? ', verifyError = :e' : ' REMOVE verifyError'}`,
        ConditionExpression: 'attribute_exists(sk)',
        ExpressionAttributeValues: { ':v': status, ':now': now, ...(error ? { ':e': error } : {}) },
      }),
    );
  }

  // ---- Tombstones: rows CDC deleted, so a copy that read them earlier can take them out again ----

  /**
   * Records deleted rows (before apply deletes them from the target). `sortKey` orders them like the
   * scroll key so a copy page can look up its own key range.
   */
  async putTombstones(migrationId: string, stones: readonly Tombstone[]): Promise<void> {
    const now = this.now();
    await this.batchWrite(
      stones.map((t) => ({
        PutRequest: { Item: { pk: tombPk(migrationId, t.sortKey), sk: `TOMB#${t.table}#${t.sortKey}`, ...t, at: now, expiresAt: Math.floor(now / 1000) + 14 * 86_400 } },
      })),
      'tombstone write',
    );
  }

  /** BatchWriteItem in chunks of 25 (4 requests at a time), resending unprocessed requests with backoff (bounded). */
  private async batchWrite(requests: readonly Record<string, unknown>[], what: string): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        let pending: Record<string, unknown>[] | undefined = requests.slice(next, (next += 25));
        for (let attempt = 0; pending && pending.length; attempt++) {
          const out = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending as never } }));
          pending = out.UnprocessedItems?.[this.tableName] as Record<string, unknown>[] | undefined;
          if (pending?.length) {
            if (attempt > 8) throw new Error(`DynamoDB kept ${pending.length} ${what}(s) unprocessed`);
            await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, Math.ceil(requests.length / 25)) }, worker));
  }

  /** Tombstones of a table with sort keys in `(lo, hi]` (null = unbounded). */
  async tombstones(migrationId: string, table: string, lo: string | null, hi: string | null): Promise<Tombstone[]> {
    const prefix = `TOMB#${table}#`;
    const parts = await Promise.all(
      Array.from({ length: TOMB_PARTITIONS }, (_, n) =>
        this.queryPages('pk = :pk AND sk BETWEEN :a AND :b', { ':pk': `${pk(migrationId)}#TOMB${n}`, ':a': `${prefix}${lo ?? ''}`, ':b': `${prefix}${hi ?? '\uffff'}` }),
      ),
    );
    return parts
      .flat()
      .filter((i) => lo === null || String(i.sortKey) > lo)
      .map((i) => ({ table: String(i.table), sortKey: String(i.sortKey), key: i.key as unknown[], db: Number(i.db), database: String(i.database), tableName: String(i.tableName) }));
  }

  // ---- CDC capture position (one item per migration, single-flight lease) ----

  /** Records where capture starts (taken at plan time, before the copy reads anything); kept if present. */
  async initCapture(migrationId: string, position: BinlogPosition): Promise<CaptureState> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: pk(migrationId), sk: 'CAPTURE', file: position.file, position: position.position, startFile: position.file, startPosition: position.position, events: 0, leaseToken: 0, updatedAt: this.now() },
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
    return (await this.getCapture(migrationId))!;
  }

  async getCapture(migrationId: string): Promise<CaptureState | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: pk(migrationId), sk: 'CAPTURE' }, ConsistentRead: true }));
    return out.Item ? toCapture(out.Item) : undefined;
  }

  async acquireCapture(migrationId: string, owner: string, leaseMs: number): Promise<CaptureState> {
    const now = this.now();
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: pk(migrationId), sk: 'CAPTURE' },
          UpdateExpression: 'SET leaseOwner = :o, leaseExpiry = :exp, leaseToken = leaseToken + :one, updatedAt = :now',
          ConditionExpression: 'attribute_exists(sk) AND (attribute_not_exists(leaseOwner) OR leaseExpiry < :now OR leaseOwner = :o)',
          ExpressionAttributeValues: { ':o': owner, ':exp': now + leaseMs, ':one': 1, ':now': now },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toCapture(out.Attributes!);
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      const current = await this.getCapture(migrationId);
      if (!current) throw new LeaseLostError(`no capture position stored for ${migrationId}: run plan first`);
      throw new LeaseHeldError(`capture of ${migrationId} is leased by ${current.leaseOwner} until ${new Date(current.leaseExpiry ?? 0).toISOString()}`, current.leaseOwner, current.leaseExpiry);
    }
  }

  /** Moves the capture position forward after its events were accepted by SQS (lease-fenced, forward only). */
  async commitCapture(migrationId: string, held: CaptureState, owner: string, leaseMs: number, next: { position: BinlogPosition; events: number; lastEventAt?: number }): Promise<CaptureState> {
    const now = this.now();
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: pk(migrationId), sk: 'CAPTURE' },
          UpdateExpression: 'SET #f = :f, #p = :p, events = events + :n, leaseExpiry = :exp, updatedAt = :now' + (next.lastEventAt !== undefined ? ', lastEventAt = :t' : ''),
          ConditionExpression: 'leaseOwner = :o AND leaseToken = :tok AND leaseExpiry >= :now AND #f = :hf AND #p = :hp',
          ExpressionAttributeNames: { '#f': 'file', '#p': 'position' },
          ExpressionAttributeValues: {
            ':f': next.position.file,
            ':p': next.position.position,
            ':n': next.events,
            ':exp': now + leaseMs,
            ':now': now,
            ':o': owner,
            ':tok': held.leaseToken,
            ':hf': held.position.file,
            ':hp': held.position.position,
            ...(next.lastEventAt !== undefined ? { ':t': next.lastEventAt } : {}),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toCapture(out.Attributes!);
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      throw new LeaseLostError(`capture position of ${migrationId} not moved: lease or position changed`, (await this.getCapture(migrationId)) as unknown as Record<string, unknown>);
    }
  }

  async releaseCapture(migrationId: string, held: CaptureState, owner: string, caughtUpAt?: number): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: pk(migrationId), sk: 'CAPTURE' },
          UpdateExpression: 'REMOVE leaseOwner, leaseExpiry' + (caughtUpAt !== undefined ? ' SET caughtUpAt = :c' : ''),
          ConditionExpression: 'leaseOwner = :o AND leaseToken = :tok',
          ExpressionAttributeValues: { ':o': owner, ':tok': held.leaseToken, ...(caughtUpAt !== undefined ? { ':c': caughtUpAt } : {}) },
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }
}

function toCapture(item: Record<string, unknown>): CaptureState {
  return {
    position: { file: String(item.file), position: Number(item.position) },
    start: { file: String(item.startFile ?? item.file), position: Number(item.startPosition ?? item.position) },
    events: Number(item.events ?? 0),
    leaseToken: Number(item.leaseToken ?? 0),
    ...(item.leaseOwner !== undefined ? { leaseOwner: String(item.leaseOwner) } : {}),
    ...(item.leaseExpiry !== undefined ? { leaseExpiry: Number(item.leaseExpiry) } : {}),
    ...(item.lastEventAt !== undefined ? { lastEventAt: Number(item.lastEventAt) } : {}),
    ...(item.caughtUpAt !== undefined ? { caughtUpAt: Number(item.caughtUpAt) } : {}),
  };
}
