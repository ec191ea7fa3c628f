/**
 * Scroll planning: split a table's key range into segments (by quantiles of a sample of keys)
 * and describe the keyset page each step reads. Pure.
 */

/** How one scroll key column is compared and bound: integers are bound as BigInt to avoid double conversion. */
export type KeyPart = 'int' | 'string';

/**
 * How a scroll key is compared and bound: its column's kind, or, for a composite scroll key, each column's in
 * order. A one-column key's text is the value's text; a composite key's text is the JSON array of its columns'
 * texts (`["42","7"]`).
 */
export type KeyKind = KeyPart | readonly KeyPart[];

/** A key range `(lo, hi]`; `null` means unbounded. Cursors and bounds are kept as text. */
export interface Segment {
  readonly index: number;
  /** The physical source table it scrolls (index in `sourceUnits`); absent = 0. */
  readonly source?: number;
  readonly lo: string | null;
  readonly hi: string | null;
}

/** Whether `kind` is a composite (several-column) scroll key's. */
export function isComposite(kind: KeyKind): kind is readonly KeyPart[] {
  return Array.isArray(kind);
}

/** Whether key texts order as the server orders the keys: only integer columns are sure to (a string column's collation may differ from its text's order). */
export function textOrdered(kind: KeyKind): boolean {
  return isComposite(kind) ? kind.every((k) => k === 'int') : kind === 'int';
}

/** The column texts of key text `text`: itself for a one-column key. */
export function keyParts(text: string, kind: KeyKind): string[] {
  if (!isComposite(kind)) return [text];
  let parts: unknown;
  try {
    parts = JSON.parse(text);
  } catch {
    parts = undefined;
  }
  if (!Array.isArray(parts) || parts.length !== kind.length || parts.some((p) => typeof p !== 'string'))
    throw new TypeError(`key ${JSON.stringify(text)} is not the text of a ${kind.length}-column scroll key (a JSON array of ${kind.length} strings)`);
  return parts as string[];
}

function comparePart(a: string, b: string, kind: KeyPart): number {
  if (kind === 'int') {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Compares two key texts in key order (a composite key column by column). */
export function compareKeys(a: string, b: string, kind: KeyKind): number {
  if (!isComposite(kind)) return comparePart(a, b, kind);
  const x = keyParts(a, kind);
  const y = keyParts(b, kind);
  for (let i = 0; i < kind.length; i++) {
    const c = comparePart(x[i]!, y[i]!, kind[i]!);
    if (c !== 0) return c;
  }
  return 0;
}

/**
 * Splits into at most `count` segments using `sample`: keys in ascending order as the server sorts them,
 * spread evenly over the rows (a uniform sample, or every k-th key), so boundaries fall at row quantiles, not
 * at key-space quantiles. The first segment is open below and the last open above, so rows inserted later at
 * either end are scrolled too. A boundary equal to the one before is dropped (compared as text where the text
 * may order otherwise than the server: `textOrdered`).
 */
export function planSegments(sample: readonly string[], count: number, kind: KeyKind): Segment[] {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`segment count must be a positive integer, got ${count}`);
  const bounds: string[] = [];
  for (let i = 1; i < count; i++) {
    const b = sample[Math.floor((sample.length * i) / count)];
    if (b === undefined) continue;
    const last = bounds[bounds.length - 1];
    if (last === undefined || (textOrdered(kind) ? compareKeys(b, last, kind) > 0 : b !== last)) bounds.push(b);
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

/**
 * Converts a scroll key read from MySQL into key text, checking it matches the key kind: one value for a
 * one-column key, the array of the columns' values (`scrollValue`) for a composite one.
 */
export function keyText(value: unknown, kind: KeyKind, where: string): string {
  if (!isComposite(kind)) return partText(value, kind, where);
  if (!Array.isArray(value) || value.length !== kind.length) throw new TypeError(`${where}: a composite scroll key needs ${kind.length} values, got ${Array.isArray(value) ? value.length : 'one'}`);
  return JSON.stringify(value.map((v, i) => partText(v, kind[i]!, where)));
}

function partText(value: unknown, kind: KeyPart, where: string): string {
  if (value === null || value === undefined) throw new TypeError(`${where}: scroll key is NULL`);
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- text and any other driver value as String() gives it
  const text = typeof value === 'bigint' || typeof value === 'number' ? value.toString() : Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  if (kind === 'int' && !/^-?\d+$/.test(text)) throw new TypeError(`${where}: scroll key ${JSON.stringify(text)} is not an integer`);
  return text;
}

/** A row's scroll key as `keyText` takes it: the one column's value, or the columns' values in order. */
export function scrollValue(scrollKey: readonly string[], valueOf: (column: string) => unknown): unknown {
  return scrollKey.length === 1 ? valueOf(scrollKey[0]!) : scrollKey.map(valueOf);
}

/** A row's scroll key for messages: `id=42`, or `(order_id, line_no)=(42, 7)`. */
export function scrollLabel(scrollKey: readonly string[], valueOf: (column: string) => unknown): string {
  const text = (v: unknown) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));
  return scrollKey.length === 1 ? `${scrollKey[0]!}=${text(valueOf(scrollKey[0]!))}` : `(${scrollKey.join(', ')})=(${scrollKey.map((c) => text(valueOf(c))).join(', ')})`;
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

/**
 * Why `scrollKey` cannot be scrolled exactly, or undefined: a keyset scroll skips rows whose key is NULL
 * (`nullable`), and rows that share a key at a page's end, so every column must be NOT NULL and some unique
 * index must lie within the key's columns (`not-unique`). `uniqueIndexes` maps each unique index (PRIMARY
 * included) to its columns.
 */
export function scrollKeyProblem(
  scrollKey: readonly string[],
  nullable: ReadonlySet<string>,
  uniqueIndexes: ReadonlyMap<string, readonly string[]>,
): { readonly kind: 'nullable' | 'not-unique'; readonly text: string } | undefined {
  const label = scrollKey.length === 1 ? `scroll key ${scrollKey[0]!}` : `scroll key (${scrollKey.join(', ')})`;
  const maybeNull = scrollKey.filter((c) => nullable.has(c));
  if (maybeNull.length)
    return { kind: 'nullable', text: `${label}: ${maybeNull.join(', ')} may be NULL, and a keyset scroll never reads a row whose key is NULL; make ${maybeNull.length === 1 ? 'it' : 'them'} NOT NULL or scroll another key` };
  const within = [...uniqueIndexes].find(([, cols]) => cols.length > 0 && cols.every((c) => scrollKey.includes(c)));
  if (within) return undefined;
  const unique = [...uniqueIndexes].map(([name, cols]) => `${name} (${cols.join(', ')})`);
  return {
    kind: 'not-unique',
    text: `${label} is not unique: no unique index lies within its columns${unique.length ? ` (unique indexes: ${unique.join('; ')})` : ' (the table has no unique index)'}, and a keyset scroll would skip rows that share a key at a page's end; scroll a unique key (the primary key's columns)`,
  };
}
