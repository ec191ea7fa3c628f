/** A binlog position: a file of the server's binlog and a byte offset in it. */
export interface BinlogPosition {
  readonly file: string;
  readonly position: number;
}
