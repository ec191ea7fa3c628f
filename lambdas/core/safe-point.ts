/**
 * Where a binlog reader may stop and later resume: pure bookkeeping over what the reader takes, in order.
 *
 * Restarting is safe only where no rows event of the current statement can follow: never between a
 * TableMap and the rows events that need it (a rows event whose TableMap was not read is dropped by zongji
 * without a word). Safe points are therefore the end of a rows event flagged STMT_END, and marks: commits,
 * DDL, file rotations and the other events after which a new statement starts.
 */
import type { Ddl, TableRef } from './ddl.js';
import type { ChangeEvent } from './events/model.js';
import { comparePositions, type BinlogPosition } from './position.js';
import type { Gtid } from './gtid.js';

/** What a binlog reader takes from the stream, in binlog order (rows events of tables not read are not seen). */
export type BinlogItem =
  /** A rows event of a table read: its rows as events, its end, and whether it ends its statement (STMT_END_F). */
  | { readonly kind: 'rows'; readonly events: readonly ChangeEvent[]; readonly end: BinlogPosition; readonly stmtEnd: boolean }
  /** A TableMap: a statement of a table read may be starting. */
  | { readonly kind: 'table' }
  /**
   * A boundary no rows event of the current statement can follow (commit, DDL, rotation), at the position
   * after it; with GTIDs followed, the MariaDB event group it ends (`gtid`).
   */
  | { readonly kind: 'mark'; readonly at: BinlogPosition; readonly gtid?: Gtid }
  /** With GTIDs followed: an event group that ended without a boundary seen (the next one began). Not a safe point. */
  | { readonly kind: 'gtid'; readonly gtid: Gtid }
  /**
   * DDL that touches a table read (`touched`, each with the name its events carry), or that creates, alters or
   * drops the ghost of one (`ghost`: an online schema change tool's, `core/osc.ts`; `touched` empty): a
   * boundary, like a mark at `at` (the position after it), and with GTIDs followed the event group it is
   * (`gtid`). Readers stop before it.
   */
  | {
      readonly kind: 'ddl';
      readonly ddl: Ddl;
      readonly schema: string;
      readonly touched: readonly (TableRef & { readonly as: string })[];
      readonly ghost?: true;
      readonly at: BinlogPosition;
      readonly gtid?: Gtid;
    };

/**
 * The resumable position of a reader: every event taken before it has been taken, and restarting there is
 * safe. Feed it every item taken, in order.
 */
export class SafePointTracker {
  private resume: BinlogPosition;
  /** `resume` covers everything taken so far. */
  private safe = true;
  /** Events taken since `resume` last moved (not covered by it while !safe). */
  private sinceSafe = 0;

  constructor(from: BinlogPosition) {
    this.resume = { file: from.file, position: from.position };
  }

  /** The last safe point: a reader resuming here delivers nothing it took at or before it. */
  get position(): BinlogPosition {
    return this.resume;
  }

  /**
   * Stopping now loses nothing: `position` covers every event taken (a TableMap alone, with no rows taken
   * since the last safe point, still allows a stop).
   */
  get canStop(): boolean {
    return this.safe || this.sinceSafe === 0;
  }

  /**
   * Events taken since `position` (0 there): with a stop inside a statement, a reader resuming at `position`
   * skips this many to deliver nothing twice.
   */
  get pending(): number {
    return this.safe ? 0 : this.sinceSafe;
  }

  /** Taking a boundary at `at` would move `position` there. */
  movesTo(at: BinlogPosition): boolean {
    return at.file !== this.resume.file || at.position >= this.resume.position;
  }

  /** `position` when a stop now is resumable, else null. */
  checkpoint(): BinlogPosition | null {
    return this.canStop ? { ...this.resume } : null;
  }

  /** Everything up to `until` has been read (the last safe point is at or past it). */
  reached(until: BinlogPosition): boolean {
    return comparePositions(this.resume, until) >= 0;
  }

  take(item: BinlogItem): void {
    if (item.kind === 'rows') {
      if (item.stmtEnd) {
        this.safe = true;
        this.resume = item.end;
        this.sinceSafe = 0;
      } else {
        this.safe = false;
        this.sinceSafe += item.events.length;
      }
    } else if (item.kind === 'table') {
      // Inside a statement of a table read: restarting here would lose its TableMap. (A TableMap after rows
      // events without the statement-end flag is not proof of a new statement: MariaDB may write a table's
      // map lazily, when the statement first changes it.)
      this.safe = false;
    } else if (item.kind === 'gtid') {
      // The start of a group moves no safe point.
    } else if (this.movesTo(item.at)) {
      // A commit, DDL or file boundary: no rows event of the current statement can follow. (Within a file
      // the position only moves forward: a mark behind the last safe point moves nothing.)
      this.safe = true;
      this.resume = item.at;
      this.sinceSafe = 0;
    }
  }
}
