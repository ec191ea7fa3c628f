/**
 * The CDC capture position: one item per source server (`CAPTURE` for the first, `CAPTURE#n` for server n)
 * with a single-flight lease. The position
 * moves forward only, by a lease-fenced conditional write that requires the position it read.
 */
import { LeaseLostError } from '../../core/errors.js';
import { withoutGhost, type Ghosts } from '../../core/osc.js';
import { comparePositions, type BinlogPosition } from '../../core/position.js';
import type { CaptureState, PausedDdl, SourceChange } from '../../core/model.js';
import { conditionalWrite, leaseHeldError } from './conditional-write.js';
import { getItem, pk, type Item, type StateTable } from './table.js';

/** The item of source server `server` (an index into the source servers). */
const skOf = (server: number): string => (server === 0 ? 'CAPTURE' : `CAPTURE#${server}`);

function toCapture(item: Item): CaptureState {
  return {
    position: { file: String(item.file), position: Number(item.position) },
    start: { file: String(item.startFile ?? item.file), position: Number(item.startPosition ?? item.position) },
    events: Number(item.events ?? 0),
    ...(Number(item.skip ?? 0) > 0 ? { skip: Number(item.skip) } : {}),
    leaseToken: Number(item.leaseToken ?? 0),
    ...(item.leaseOwner !== undefined ? { leaseOwner: (item.leaseOwner as string) } : {}),
    ...(item.leaseExpiry !== undefined ? { leaseExpiry: Number(item.leaseExpiry) } : {}),
    ...(item.lastEventAt !== undefined ? { lastEventAt: Number(item.lastEventAt) } : {}),
    ...(item.caughtUpAt !== undefined ? { caughtUpAt: Number(item.caughtUpAt) } : {}),
    ...(typeof item.ddl === 'string' ? { paused: JSON.parse(item.ddl) as PausedDdl } : {}),
    ...(typeof item.sourceId === 'string' ? { sourceId: item.sourceId } : {}),
    ...(typeof item.gtid === 'string' ? { gtid: item.gtid } : {}),
    ...(typeof item.ghosts === 'string' && item.ghosts !== '{}' ? { ghosts: JSON.parse(item.ghosts) as Ghosts } : {}),
    ...(typeof item.sourceChanged === 'string' ? { sourceChanged: JSON.parse(item.sourceChanged) as SourceChange } : {}),
  };
}

/** What a capture commit moves and records: the position, the events sent, and what the read saw on the way. */
export interface CaptureCommit {
  readonly position: BinlogPosition;
  readonly skip?: number;
  readonly events: number;
  readonly lastEventAt?: number;
  readonly gtid?: string;
  /** The ghost tables as read up to `position` (replacing those stored). */
  readonly ghosts?: Ghosts;
}

/** The server a position is of, and the GTID position there (MariaDB). */
export interface PositionOrigin {
  readonly sourceId?: string | undefined;
  readonly gtid?: string | undefined;
}

/** The attributes of a capture item that starts at `position` of server `origin.sourceId`. */
const startItem = (position: BinlogPosition, origin: PositionOrigin) => ({
  file: position.file,
  position: position.position,
  startFile: position.file,
  startPosition: position.position,
  events: 0,
  leaseToken: 0,
  ...(origin.sourceId !== undefined ? { sourceId: origin.sourceId } : {}),
  ...(origin.gtid !== undefined ? { gtid: origin.gtid } : {}),
});

export class CaptureItems {
  constructor(private readonly t: StateTable) {}

  /**
   * Records where capture starts (taken at plan time, before the copy reads anything) and the server whose
   * binlog that is (`sourceId`); a stored position is kept and returned.
   */
  async init(migrationId: string, position: BinlogPosition, server = 0, origin: PositionOrigin = {}): Promise<CaptureState> {
    const item = await conditionalWrite(
      this.t,
      {
        Item: { pk: pk(migrationId), sk: skOf(server), ...startItem(position, origin), updatedAt: this.t.now() },
        ConditionExpression: 'attribute_not_exists(sk)',
      },
      (current) => current!,
    );
    return toCapture(item);
  }

  /**
   * Records where capture starts, replacing a stored position (reverse replication restarts at each switch):
   * refused while a live lease holds it.
   */
  async restart(migrationId: string, position: BinlogPosition, server = 0, origin: PositionOrigin = {}): Promise<CaptureState> {
    const now = this.t.now();
    const item = await conditionalWrite(
      this.t,
      {
        Item: { pk: pk(migrationId), sk: skOf(server), ...startItem(position, origin), updatedAt: now },
        ConditionExpression: 'attribute_not_exists(sk) OR attribute_not_exists(leaseOwner) OR leaseExpiry < :now',
        ExpressionAttributeValues: { ':now': now },
      },
      (current) => {
        throw leaseHeldError(`capture of ${migrationId}${server ? ` source server #${server}` : ''}`, toCapture(current!));
      },
    );
    return toCapture(item);
  }

  async get(migrationId: string, server = 0): Promise<CaptureState | undefined> {
    const item = await getItem(this.t, { pk: pk(migrationId), sk: skOf(server) });
    return item && toCapture(item);
  }

  /** Takes the capture lease for `owner` (free, expired, or already ours) with a new token. */
  async acquire(migrationId: string, owner: string, leaseMs: number, server = 0): Promise<CaptureState> {
    const now = this.t.now();
    const item = await conditionalWrite(
      this.t,
      {
        Key: { pk: pk(migrationId), sk: skOf(server) },
        UpdateExpression: 'SET leaseOwner = :o, leaseExpiry = :exp, leaseToken = leaseToken + :one, updatedAt = :now',
        ConditionExpression: 'attribute_exists(sk) AND (attribute_not_exists(leaseOwner) OR leaseExpiry < :now OR leaseOwner = :o)',
        ExpressionAttributeValues: { ':o': owner, ':exp': now + leaseMs, ':one': 1, ':now': now },
      },
      (current) => {
        if (!current) throw new LeaseLostError(`no capture position stored for ${migrationId}${server ? ` source server #${server}` : ''}: run plan first`);
        throw leaseHeldError(`capture of ${migrationId}${server ? ` source server #${server}` : ''}`, toCapture(current));
      },
    );
    return toCapture(item);
  }

  /**
   * Moves the capture position forward after its events were accepted by SQS (lease-fenced, forward only); a
   * retry of a commit that took effect, its response lost, returns the state it made.
   */
  async commit(migrationId: string, held: CaptureState, owner: string, leaseMs: number, next: CaptureCommit, server = 0): Promise<CaptureState> {
    const now = this.t.now();
    const item = await conditionalWrite(
      this.t,
      {
        Key: { pk: pk(migrationId), sk: skOf(server) },
        UpdateExpression:
          'SET #f = :f, #p = :p, #skip = :s, events = events + :n, leaseExpiry = :exp, updatedAt = :now' +
          (next.lastEventAt !== undefined ? ', lastEventAt = :t' : '') +
          (next.gtid !== undefined ? ', gtid = :g' : '') +
          (next.ghosts !== undefined ? ', ghosts = :gh' : ''),
        ConditionExpression: 'leaseOwner = :o AND leaseToken = :tok AND leaseExpiry >= :now AND #f = :hf AND #p = :hp',
        ExpressionAttributeNames: { '#f': 'file', '#p': 'position', '#skip': 'skip' },
        ExpressionAttributeValues: {
          ':f': next.position.file,
          ':p': next.position.position,
          ':s': next.skip ?? 0,
          ':n': next.events,
          ':exp': now + leaseMs,
          ':now': now,
          ':o': owner,
          ':tok': held.leaseToken,
          ':hf': held.position.file,
          ':hp': held.position.position,
          ...(next.lastEventAt !== undefined ? { ':t': next.lastEventAt } : {}),
          ...(next.gtid !== undefined ? { ':g': next.gtid } : {}),
          ...(next.ghosts !== undefined ? { ':gh': JSON.stringify(next.ghosts) } : {}),
        },
      },
      (current) => {
        const now = current && toCapture(current);
        // This very commit took effect and its response was lost (the SDK sent it again): done, not lost.
        if (now && now.leaseOwner === owner && now.leaseToken === held.leaseToken && comparePositions(now.position, next.position) === 0 && (now.skip ?? 0) === (next.skip ?? 0)) return current;
        throw new LeaseLostError(`capture position of ${migrationId} not moved: lease or position changed`, now as unknown as Item);
      },
    );
    return toCapture(item);
  }

  /**
   * Stops capture of this server before a DDL: records it (lease-fenced; the position must be the one just
   * before it). Capture runs read nothing while it is set.
   */
  async pause(migrationId: string, held: CaptureState, owner: string, paused: PausedDdl, server = 0): Promise<CaptureState> {
    return this.stop(migrationId, { ...held, position: paused.at }, owner, server, { ddl: JSON.stringify(paused) }, 'paused');
  }

  /**
   * Ends a pause: capture goes on from `paused.next`, with the GTID position there (lease-fenced; the pause
   * must still be the one held). A ghost the paused swap brought in is the table now: it leaves the ghosts.
   */
  async resume(migrationId: string, held: CaptureState, owner: string, server = 0): Promise<CaptureState> {
    const paused = held.paused;
    if (!paused) throw new LeaseLostError(`capture of ${migrationId} is not paused`);
    const ghosts = paused.swap ? withoutGhost(held.ghosts, paused.swap.ghost) : undefined;
    const item = await conditionalWrite(
      this.t,
      {
        Key: { pk: pk(migrationId), sk: skOf(server) },
        UpdateExpression: `SET #f = :nf, #p = :np, #skip = :zero, updatedAt = :now${ghosts ? ', ghosts = :gh' : ''}${paused.nextGtid !== undefined ? ', gtid = :g' : ''} REMOVE ddl`,
        ConditionExpression: 'leaseOwner = :o AND leaseToken = :tok AND #f = :af AND #p = :ap AND ddl = :d',
        ExpressionAttributeNames: { '#f': 'file', '#p': 'position', '#skip': 'skip' },
        ExpressionAttributeValues: {
          ':nf': paused.next.file,
          ':np': paused.next.position,
          ':zero': 0,
          ':now': this.t.now(),
          ':o': owner,
          ':tok': held.leaseToken,
          ':af': paused.at.file,
          ':ap': paused.at.position,
          ':d': JSON.stringify(paused),
          ...(ghosts ? { ':gh': JSON.stringify(ghosts) } : {}),
          ...(paused.nextGtid !== undefined ? { ':g': paused.nextGtid } : {}),
        },
      },
      (current) => {
        throw new LeaseLostError(`capture of ${migrationId} not resumed: lease, position or pause changed`, (current && toCapture(current)) as unknown as Item);
      },
    );
    return toCapture(item);
  }

  /**
   * Records the server the held position belongs to and ends a stop for a changed source (lease-fenced; the
   * position must be the one held): with `position` (and its GTID position), capture goes on from there
   * (`reshard capture-source accept`), else from where it is (a position stored without its server, or the
   * server reached again).
   */
  async setSource(migrationId: string, held: CaptureState, owner: string, next: { sourceId: string; position?: BinlogPosition; gtid?: string }, server = 0): Promise<CaptureState> {
    const to = next.position ?? held.position;
    const item = await conditionalWrite(
      this.t,
      {
        Key: { pk: pk(migrationId), sk: skOf(server) },
        // A new position without its GTID position leaves none: the old one was of the position before.
        UpdateExpression: `SET sourceId = :id, #f = :nf, #p = :np, #skip = :skip, updatedAt = :now${next.gtid !== undefined ? ', gtid = :g' : ''} REMOVE sourceChanged${next.position && next.gtid === undefined ? ', gtid' : ''}`,
        ConditionExpression: 'leaseOwner = :o AND leaseToken = :tok AND #f = :af AND #p = :ap',
        ExpressionAttributeNames: { '#f': 'file', '#p': 'position', '#skip': 'skip' },
        ExpressionAttributeValues: {
          ':id': next.sourceId,
          ...(next.gtid !== undefined ? { ':g': next.gtid } : {}),
          ':nf': to.file,
          ':np': to.position,
          ':skip': next.position ? 0 : (held.skip ?? 0),
          ':now': this.t.now(),
          ':o': owner,
          ':tok': held.leaseToken,
          ':af': held.position.file,
          ':ap': held.position.position,
        },
      },
      (current) => {
        throw new LeaseLostError(`capture source of ${migrationId} not recorded: lease or position changed`, (current && toCapture(current)) as unknown as Item);
      },
    );
    return toCapture(item);
  }

  /** Stops capture of this server because its endpoint reaches another server (lease-fenced; the position must be the one held). */
  async stopForSource(migrationId: string, held: CaptureState, owner: string, change: SourceChange, server = 0): Promise<CaptureState> {
    return this.stop(migrationId, held, owner, server, { sourceChanged: JSON.stringify(change) }, 'stopped for its changed source');
  }

  /** Sets the attribute that stops capture of this server (lease-fenced, at `held.position`). */
  private async stop(migrationId: string, held: CaptureState, owner: string, server: number, set: { ddl: string } | { sourceChanged: string }, what: string): Promise<CaptureState> {
    const [[name, value]] = Object.entries(set) as [[string, string]];
    const item = await conditionalWrite(
      this.t,
      {
        Key: { pk: pk(migrationId), sk: skOf(server) },
        UpdateExpression: 'SET #s = :s, updatedAt = :now',
        ConditionExpression: 'leaseOwner = :o AND leaseToken = :tok AND #f = :af AND #p = :ap',
        ExpressionAttributeNames: { '#s': name, '#f': 'file', '#p': 'position' },
        ExpressionAttributeValues: { ':s': value, ':now': this.t.now(), ':o': owner, ':tok': held.leaseToken, ':af': held.position.file, ':ap': held.position.position },
      },
      (current) => {
        throw new LeaseLostError(`capture of ${migrationId} not ${what}: lease or position changed`, (current && toCapture(current)) as unknown as Item);
      },
    );
    return toCapture(item);
  }

  /** Gives the capture lease back (noting when capture last caught up); a lost lease is left alone. */
  async release(migrationId: string, held: CaptureState, owner: string, caughtUpAt?: number, server = 0): Promise<void> {
    await conditionalWrite(this.t, {
      Key: { pk: pk(migrationId), sk: skOf(server) },
      UpdateExpression: 'REMOVE leaseOwner, leaseExpiry' + (caughtUpAt !== undefined ? ' SET caughtUpAt = :c' : ''),
      ConditionExpression: 'leaseOwner = :o AND leaseToken = :tok',
      ExpressionAttributeValues: { ':o': owner, ':tok': held.leaseToken, ...(caughtUpAt !== undefined ? { ':c': caughtUpAt } : {}) },
    });
  }
}
