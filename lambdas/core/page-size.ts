/**
 * How many rows the copy reads in its next keyset page: `copy.pageSize` at most, and about `copy.pageBytes`
 * of rows at their measured width, so that a table of wide rows (large JSON or TEXT) gets pages that fit in
 * memory while a table of narrow rows keeps the long pages that amortize each page's round trips and commits.
 */

/** The copy's page limits (`copy.pageSize`, `copy.pageBytes`). */
export interface PageLimits {
  readonly pageSize: number;
  readonly pageBytes: number;
}

/**
 * Rows for the next page: `pageBytes ÷ bytesPerRow`, between 1 and `pageSize`; `pageSize` while the width is
 * not known (undefined, 0 or not a number).
 */
export function pageRows(limits: PageLimits, bytesPerRow: number | undefined): number {
  if (bytesPerRow === undefined || !Number.isFinite(bytesPerRow) || bytesPerRow <= 0) return limits.pageSize;
  return Math.max(1, Math.min(limits.pageSize, Math.floor(limits.pageBytes / bytesPerRow)));
}

/** A row's size as read: a Buffer's bytes, a string's UTF-8 bytes, 8 for any other value (numbers, dates, NULL). */
export function rowBytes(row: readonly unknown[]): number {
  let n = 0;
  for (const v of row) n += Buffer.isBuffer(v) ? v.length : typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : 8;
  return n;
}

/**
 * The mean bytes per row of a page's rows (`rowBytes`), from at most `sample` rows spread evenly over the page
 * (a width to size the next page by needs no more); undefined for an empty page.
 */
export function bytesPerRowOf(rows: readonly (readonly unknown[])[], sample = 256): number | undefined {
  if (rows.length === 0) return undefined;
  const step = Math.max(1, Math.ceil(rows.length / sample));
  let n = 0;
  let seen = 0;
  for (let i = 0; i < rows.length; i += step, seen++) n += rowBytes(rows[i]!);
  return n / seen;
}
