/**
 * Change events (CDC): one row change read from the binlog, as capture sends it and apply receives it, and
 * the SQS message that carries a group's events.
 */
import type { Row } from '../model.js';
import type { BinlogPosition } from '../position.js';

export type ChangeOp = 'insert' | 'update' | 'delete';

/** A row image of a change event: the row before or after the change. */
export type RowImage = Row;

export interface ChangeEvent {
  readonly table: string;
  readonly op: ChangeOp;
  /** The row before the change (update, delete). */
  readonly before?: RowImage;
  /** The row after the change (insert, update). */
  readonly after?: RowImage;
  /** Start of the rows event carrying this row (the same on every replay). */
  readonly position: BinlogPosition;
  /** Index of the row inside its rows event. */
  readonly rowIndex: number;
  /** When the statement ran on the source (binlog event header, second precision), ms since the epoch. */
  readonly timestamp: number;
  /** Set when the row image was too large for SQS: apply re-reads the row from the source by its key. */
  readonly reread?: boolean;
}

/** `file:position:rowIndex`: an event's place in the binlog as text (the deduplication id of its message). */
export function positionText(e: Pick<ChangeEvent, 'position' | 'rowIndex'>): string {
  return `${e.position.file}:${e.position.position}:${e.rowIndex}`;
}

/** One SQS FIFO message: consecutive events of one group, in binlog order. */
export interface OutgoingMessage {
  readonly groupId: string;
  readonly dedupId: string;
  readonly body: string;
  readonly events: number;
  /** Position of the last event in the message. */
  readonly last: Pick<ChangeEvent, 'position' | 'rowIndex'>;
}
