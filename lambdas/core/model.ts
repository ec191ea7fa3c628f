/**
 * The migration's domain model: segment and verification statuses, checkpoints, table plans, statistics,
 * tombstones and the capture state. Adapters map stored items onto these types.
 */
import type { LiteralKind } from './sql.js';
import type { Ghosts, SwapChange } from './osc.js';
import { isComposite, keyParts, textOrdered, type KeyKind, type KeyPart } from './segments.js';
import type { BinlogPosition } from './position.js';
import type { RoutingFile } from './cutover.js';
import type { ThrottleReason } from './throttle.js';

/** A table row as mysql2 reads it (see poolOptions in adapters/mysql.ts): column name → value. */
export type Row = Record<string, unknown>;

export const SegmentStatus = {
  INIT: 'INIT',
  RUNNING: 'RUNNING',
  FAILED: 'FAILED',
  DONE: 'DONE',
} as const;
export type SegmentStatus = (typeof SegmentStatus)[keyof typeof SegmentStatus];

export interface Checkpoint {
  readonly table: string;
  readonly segment: number;
  /** The physical source table the segment scrolls (its index in `sourceUnits`; 0 for an unsharded source). */
  readonly source: number;
  readonly lo: string | null;
  readonly hi: string | null;
  readonly cursor: string | null;
  readonly status: SegmentStatus;
  readonly pagesDone: number;
  readonly rowsCopied: number;
  readonly rowsInserted: number;
  readonly rowsUpdated: number;
  readonly rowsSkipped: number;
  readonly retries: number;
  readonly lastError?: string;
  readonly leaseOwner?: string;
  readonly leaseExpiry?: number;
  readonly leaseToken: number;
  readonly updatedAt?: number;
  readonly startedAt?: number;
  readonly finishedAt?: number;
  /** The segment's last verification: its worst batch status (DIRTY/FAILED over REPAIRED over CLEAN). */
  readonly verifyStatus?: VerifyStatus;
  readonly verifyError?: string;
  readonly verifiedAt?: number;
  /**
   * With CDC: each source server's binlog position when the segment's last verification began. Every change
   * after it is in the binlog from there (the cut-over checks those keys again).
   */
  readonly verifyFrom?: readonly { readonly server: number; readonly position: BinlogPosition }[];
  /** Set while the segment's copy is paused by the throttle; the next page committed clears it. */
  readonly throttled?: Throttled;
}

/** Why a segment's copy is paused (`core/throttle.ts`), since when, and when that was last read. */
export interface Throttled extends ThrottleReason {
  /** `throttleText`: `Threads_running 31 > 25 on target db 1`. */
  readonly reason: string;
  readonly since: number;
  readonly at: number;
}

/** A column as the binlog reader decodes rows with it: INFORMATION_SCHEMA.COLUMNS's fields. */
export interface BinlogColumn {
  readonly COLUMN_NAME: string;
  readonly COLLATION_NAME: string | null;
  readonly CHARACTER_SET_NAME: string | null;
  readonly COLUMN_COMMENT: string;
  readonly COLUMN_TYPE: string;
}

export interface TablePlan {
  readonly table: string;
  readonly keyKind: KeyKind;
  readonly columns: string[];
  /** Columns read through another type to round-trip exactly (`readKindsOf`; absent in older plans). */
  readonly readKinds?: Readonly<Record<string, string>>;
  /** How each column goes into a row literal (`literalKindsOf`); absent when the table is read as values (or in older plans). */
  readonly literalKinds?: Readonly<Record<string, LiteralKind>>;
  /**
   * The source's columns as capture decodes its rows (absent in older plans: capture then reads each table's
   * current definition). Physical tables changed by a DDL since have their own in `physicalColumns`.
   */
  readonly binlogColumns?: readonly BinlogColumn[];
  /** Per physical source table (`database.table`) whose columns a DDL changed since plan: its columns now. */
  readonly physicalColumns?: Readonly<Record<string, readonly BinlogColumn[]>>;
  /** The last DDL dealt with on this table (statement and binlog position), for status. */
  readonly lastDdl?: { readonly statement: string; readonly at: string; readonly action: string; readonly appliedAt: number };
  readonly segments: number;
  /** With a sharded source: the key ranges every physical table is split into (`segments` = ranges × physical tables). */
  readonly ranges?: number;
  readonly minKey: string | null;
  readonly maxKey: string | null;
  readonly createdAt: number;
}

export interface DayStat {
  readonly table: string;
  readonly day: string;
  readonly rows: number;
  /** The physical source table (its index in `sourceUnits`) when the table has more than one; a table's total sums them. */
  readonly source?: number;
}

export const VerifyStatus = {
  PENDING: 'PENDING',
  VERIFYING: 'VERIFYING',
  CLEAN: 'CLEAN',
  DIRTY: 'DIRTY',
  REPAIRED: 'REPAIRED',
  FAILED: 'FAILED',
} as const;
export type VerifyStatus = (typeof VerifyStatus)[keyof typeof VerifyStatus];

/** One differing row: where, its record key, what kind of difference, and (when different) which columns. */
export interface DirtyRow {
  readonly target: string;
  readonly key: unknown[];
  readonly kind: 'missing' | 'different' | 'extra';
  readonly columns?: string[];
}

export interface VerifyBatchState {
  readonly table: string;
  /** The copy segment whose key range the batch lies in, and the batch's index within it. */
  readonly segment: number;
  readonly batch: number;
  readonly lo: string | null;
  readonly hi: string | null;
  readonly status: VerifyStatus;
  /** `checksum` when the fast path proved the batch equal; `rows` when it was compared row by row. */
  readonly method: 'checksum' | 'rows';
  readonly sourceRows: number;
  readonly targetRows: number;
  readonly missing: number;
  readonly different: number;
  readonly extra: number;
  readonly repaired: number;
  readonly dirtyRows: DirtyRow[];
}

export interface Tombstone {
  readonly table: string;
  /** The scroll key as sortable text (`sortableKey`). */
  readonly sortKey: string;
  /** Record key values. */
  readonly key: unknown[];
  /** Where apply found (or would have found) the row. */
  readonly db: number;
  readonly database: string;
  readonly tableName: string;
}

/**
 * Scroll key text that sorts like the key: integers zero-padded (sign-aware), strings as they are. A composite
 * key's columns are concatenated: integers at their fixed width, strings with U+0000 and U+0001 escaped and
 * ended by U+0001 U+0001, so that a shorter string sorts before its extensions.
 */
export function sortableKey(text: string, kind: KeyKind): string {
  if (!isComposite(kind)) return sortablePart(text, kind);
  const parts = keyParts(text, kind);
  return parts.map((p, i) => (kind[i] === 'int' ? sortablePart(p, 'int') : `${p.replaceAll('\u0001', '\u0001\u0003').replaceAll('\u0000', '\u0001\u0002')}\u0001\u0001`)).join('');
}

/** Sortable key texts in the state table's order (DynamoDB compares their UTF-8 bytes). */
export function compareSortable(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * The tombstones a copied page looks up, by sortable key: `(after, upTo]` — the page's range — when key texts
 * order as the server orders the keys; otherwise `[least, greatest]` of the page's own keys (`keys`), which holds
 * every key the page read whatever the collation (and maybe others, which the caller checks against the source).
 */
export function tombstoneRange(kind: KeyKind, after: string | null, upTo: string, keys: () => readonly string[]): { readonly lo: string | null; readonly inclusive: boolean; readonly hi: string } {
  if (textOrdered(kind)) return { lo: after === null ? null : sortableKey(after, kind), inclusive: false, hi: sortableKey(upTo, kind) };
  let lo: string | undefined;
  let hi: string | undefined;
  for (const k of keys()) {
    const s = sortableKey(k, kind);
    if (lo === undefined || compareSortable(s, lo) < 0) lo = s;
    if (hi === undefined || compareSortable(s, hi) > 0) hi = s;
  }
  return lo === undefined || hi === undefined ? { lo: sortableKey(upTo, kind), inclusive: true, hi: sortableKey(upTo, kind) } : { lo, inclusive: true, hi };
}

function sortablePart(text: string, kind: KeyPart): string {
  if (kind !== 'int') return text;
  const n = BigInt(text);
  return n < 0n ? `-${(10n ** 20n + n).toString().padStart(20, '0')}` : `0${n.toString().padStart(20, '0')}`;
}


export interface CaptureState {
  /** Where capture goes on: a safe point (core/safe-point.ts)… */
  readonly position: BinlogPosition;
  /** …and the change events after it already sent, when the checkpoint fell inside a statement too large for one run. */
  readonly skip?: number;
  readonly start: BinlogPosition;
  readonly events: number;
  readonly leaseToken: number;
  readonly leaseOwner?: string;
  readonly leaseExpiry?: number;
  /** Source time (ms) of the last event captured. */
  readonly lastEventAt?: number;
  /** When a capture run last found nothing more to read. */
  readonly caughtUpAt?: number;
  /** Set while capture of this server is stopped before a DDL (until `reshard ddl apply|skip`). */
  readonly paused?: PausedDdl;
  /** The server whose binlog the position is in (`serverIdentityOf`); capture reads only from that server. */
  readonly sourceId?: string;
  /** MariaDB: the GTID position at `position` (`core/gtid.ts`), to find the same point on another server. */
  readonly gtid?: string;
  /** Ghosts of the tables read that online schema change tools built, as read up to `position` (`core/osc.ts`). */
  readonly ghosts?: Ghosts;
  /** Set while capture of this server is stopped because its endpoint reaches another server (until `reshard capture-source accept`). */
  readonly sourceChanged?: SourceChange;
}

/** A source endpoint found reaching another server than the one whose binlog position capture holds. */
export interface SourceChange {
  /** The identity the position belongs to, and the one the endpoint reaches now. */
  readonly was: string;
  readonly now: string;
  /** The position capture holds (of `was`'s binlog). */
  readonly at: BinlogPosition;
  /** When capture first found it (ms). */
  readonly since: number;
  /** Source time (ms) of the last change capture sent before `at`, if any: where to look in the new server's binlog. */
  readonly lastEventAt?: number;
  /** MariaDB: the GTID position at `at`. */
  readonly gtid?: string;
  /** With `cdc.onSourceChange: gtid`: why capture could not go on from the server reached now. */
  readonly notFollowed?: string;
}

/** A DDL capture stopped before, and why. */
export interface PausedDdl {
  readonly statement: string;
  /** The database the statement ran in (its unqualified names are there). */
  readonly schema: string;
  /** `core/ddl.ts` DdlKind. */
  readonly kind: string;
  readonly changesColumns: boolean;
  /** The physical tables read that it touches (`database.table`), each with its logical table. */
  readonly tables: readonly { readonly physical: string; readonly table: string }[];
  /** The capture position: just before the DDL. */
  readonly at: BinlogPosition;
  /** The position after it, where capture goes on once it is dealt with… */
  readonly next: BinlogPosition;
  /** …and, on MariaDB, the GTID position there. */
  readonly nextGtid?: string;
  /** A RENAME that swaps in an online schema change's ghost: what the targets take instead (`core/osc.ts`). */
  readonly swap?: SwapChange;
  readonly pausedAt: number;
  /** Why capture stopped instead of dealing with it (the `cdc.onDdl` setting, or what it could not do). */
  readonly reason: string;
}

/** A segment's outcome from its batches: any DIRTY or FAILED batch makes it so; else REPAIRED if any was. */
export function segmentOutcome(batches: readonly Pick<VerifyBatchState, 'status'>[]): VerifyStatus {
  const has = (s: VerifyStatus) => batches.some((b) => b.status === s);
  if (has(VerifyStatus.FAILED)) return VerifyStatus.FAILED;
  if (has(VerifyStatus.DIRTY)) return VerifyStatus.DIRTY;
  if (has(VerifyStatus.VERIFYING) || has(VerifyStatus.PENDING)) return VerifyStatus.PENDING;
  return has(VerifyStatus.REPAIRED) ? VerifyStatus.REPAIRED : VerifyStatus.CLEAN;
}

/**
 * Where a cut-over stands: READY and AWAITING_WRITES_STOPPED wait for the operator with nothing frozen;
 * FROZEN, CATCHING_UP and CHECKING hold the source's writes; DONE, FAILED and ABORTED are final, but a DONE
 * switch with reverse replication becomes ROLLED_BACK once a rollback (the reverse migration's cut-over) is DONE.
 */
export type CutoverStatus = 'READY' | 'AWAITING_WRITES_STOPPED' | 'FROZEN' | 'CATCHING_UP' | 'CHECKING' | 'DONE' | 'FAILED' | 'ABORTED' | 'ROLLED_BACK';

/** Statuses in which the source's writes may be frozen. */
export const FROZEN_STATUSES: readonly CutoverStatus[] = ['FROZEN', 'CATCHING_UP', 'CHECKING'];

/**
 * The cut-over of a migration (`CUTOVER` item): where it stands, how writes were frozen and where to thaw
 * them (`reshard cutover --abort` reads it when the process that froze them died).
 */
export interface CutoverState {
  readonly status: CutoverStatus;
  readonly freeze: 'lock' | 'read-only' | 'external';
  readonly startedAt: number;
  /**
   * While the cut-over waits for the operator (READY: the go; WRITES_STOPPED?: the confirmation that the
   * application stopped writing): the Step Functions task token that resumes it (on AWS), and the execution.
   */
  readonly taskToken?: string;
  readonly execution?: string;
  /** Once DONE: the routing of the new layout the application uses from now on. */
  readonly routing?: RoutingFile;
  /** Per source server: the lock's session (freeze `lock`) and the binlog position once frozen. */
  readonly servers: readonly { readonly server: number; readonly name: string; readonly lockSession?: number; readonly position?: BinlogPosition }[];
  readonly frozenAt?: number;
  /** How long writes stayed frozen (freeze to thaw), ms. */
  readonly freezeMs?: number;
  readonly rowsChecked?: number;
  /**
   * With `cutover.reverse`, once DONE: each target server's binlog position at the switch (servers of the
   * reverse migration's source), where reverse capture started and rollback's check begins.
   */
  readonly reverseFrom?: readonly { readonly server: number; readonly position: BinlogPosition }[];
  readonly error?: string;
  readonly updatedAt?: number;
}

