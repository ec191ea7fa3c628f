/** A binlog position: a file of the server's binlog and a byte offset in it. */
export interface BinlogPosition {
  readonly file: string;
  readonly position: number;
}

/** A binlog position, optionally narrowed to one row of the rows event there (a missing index counts as 0). */
export type RowPosition = BinlogPosition & { readonly rowIndex?: number };

/**
 * Total order of binlog positions: by file, then byte offset, then row index. Files compare by base name
 * (the text before a numeric extension), then by that extension as a number of any length (binlog.000009 <
 * binlog.000010, binlog.999999 < binlog.1000000; a name without one comes first), then as text (binlog.1 <
 * binlog.01). Returns a negative number, 0 or a positive number.
 */
export function comparePositions(a: RowPosition, b: RowPosition): number {
  if (a.file !== b.file) return compareFiles(a.file, b.file);
  if (a.position !== b.position) return a.position < b.position ? -1 : 1;
  return (a.rowIndex ?? 0) - (b.rowIndex ?? 0);
}

/** Orders two different binlog file names (see `comparePositions`). */
function compareFiles(a: string, b: string): number {
  const sa = extensionStart(a);
  const sb = extensionStart(b);
  // Base names: the text before the '.' of the extension, or the whole name.
  const byBase = compareText(a, 0, sa < 0 ? a.length : sa - 1, b, 0, sb < 0 ? b.length : sb - 1);
  if (byBase !== 0) return byBase;
  if (sa < 0 || sb < 0) {
    if (sa !== sb) return sa < 0 ? -1 : 1;
  } else {
    const byNumber = compareDigits(a, sa, b, sb);
    if (byNumber !== 0) return byNumber;
  }
  return a < b ? -1 : 1;
}

/** Where the numeric extension (the digits after the last '.') of a file name starts, or -1 without one. */
function extensionStart(file: string): number {
  const dot = file.lastIndexOf('.');
  if (dot < 0 || dot === file.length - 1) return -1;
  for (let i = dot + 1; i < file.length; i++) {
    const c = file.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
  }
  return dot + 1;
}

/** Compares a[from..to) with b[from..to) as text (UTF-16 code units, like `<`). */
function compareText(a: string, aFrom: number, aTo: number, b: string, bFrom: number, bTo: number): number {
  const n = Math.min(aTo - aFrom, bTo - bFrom);
  for (let i = 0; i < n; i++) {
    const d = a.charCodeAt(aFrom + i) - b.charCodeAt(bFrom + i);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  const d = aTo - aFrom - (bTo - bFrom);
  return d === 0 ? 0 : d < 0 ? -1 : 1;
}

/** Compares the decimal numbers a[aFrom..] and b[bFrom..], of any length, without converting them. */
function compareDigits(a: string, aFrom: number, b: string, bFrom: number): number {
  while (aFrom < a.length - 1 && a.charCodeAt(aFrom) === 48) aFrom++;
  while (bFrom < b.length - 1 && b.charCodeAt(bFrom) === 48) bFrom++;
  const byLength = a.length - aFrom - (b.length - bFrom);
  if (byLength !== 0) return byLength < 0 ? -1 : 1;
  return compareText(a, aFrom, a.length, b, bFrom, b.length);
}
