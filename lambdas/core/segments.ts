/**
 * Scroll planning: split a table's key range into segments (by quantiles of a sample of keys)
 * and describe the keyset page each step reads. Pure.
 */

/** How a scroll key value is compared and bound: integers are bound as BigInt to avoid double conversion. */
export type KeyKind = 'int' | 'string';

/** A key range `(lo, hi]`; `null` means unbounded. Cursors and bounds are kept as text. */
export interface Segment {
  readonly index: number;
  /** The physical source table it scrolls (index in `sourceUnits`); absent = 0. */
  readonly source?: number;
  readonly lo: string | null;
  readonly hi: string | null;
}

export function compareKeys(a: string, b: string, kind: KeyKind): number {
  if (kind === 'int') {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Splits into at most `count` segments using `sample`: keys in ascending order, spread evenly over the rows
 * (a uniform sample, or every k-th key), so boundaries fall at row quantiles, not at key-space quantiles.
 * The first segment is open below and the last open above, so rows inserted later at either end are scrolled too.
 */
export function planSegments(sample: readonly string[], count: number, kind: KeyKind): Segment[] {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`segment count must be a positive integer, got ${count}`);
  const bounds: string[] = [];
  for (let i = 1; i < count; i++) {
    const b = sample[Math.floor((sample.length * i) / count)];
    if (b === undefined) continue;
    const last = bounds[bounds.length - 1];
    if (last === undefined || compareKeys(b, last, kind) > 0) bounds.push(b);
  }
  const segments: Segment[] = [];
  let lo: string | null = null;
  for (const b of bounds) {
    segments.push({ index: segments.length, lo, hi: b });
    lo = b;
  }
  segments.push({ index: segments.length, lo, hi: null });
  return segments;
}

/** Whether a key lies in a segment's range `(lo, hi]`. */
export function inSegment(key: string, s: Segment, kind: KeyKind): boolean {
  return (s.lo === null || compareKeys(key, s.lo, kind) > 0) && (s.hi === null || compareKeys(key, s.hi, kind) <= 0);
}

/** Converts a scroll key value read from MySQL into cursor text, checking it matches the key kind. */
export function keyText(value: unknown, kind: KeyKind, where: string): string {
  if (value === null || value === undefined) throw new TypeError(`${where}: scroll key is NULL`);
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- text and any other driver value as String() gives it
  const text = typeof value === 'bigint' || typeof value === 'number' ? value.toString() : Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  if (kind === 'int' && !/^-?\d+$/.test(text)) throw new TypeError(`${where}: scroll key ${JSON.stringify(text)} is not an integer`);
  return text;
}

/**
 * A sharded source's segments: every physical table (`units` of them) scrolls the same key ranges, so one
 * range holds the rows of all of them and is verified once. Segment `unit * ranges.length + i` is range `i`
 * of physical table `unit`.
 */
export function unitSegments(ranges: readonly Segment[], units: number): Segment[] {
  const out: Segment[] = [];
  for (let unit = 0; unit < units; unit++) for (const r of ranges) out.push({ index: unit * ranges.length + r.index, source: unit, lo: r.lo, hi: r.hi });
  return out;
}

/** The segments sharing a key range with `segment` (itself included) among `units` × `ranges`; the first verifies the range. */
export function rangeSiblings(segment: number, ranges: number, units: number): number[] {
  const i = segment % ranges;
  return Array.from({ length: units }, (_, u) => u * ranges + i);
}
