/**
 * The wire format of change messages on SQS FIFO: encoding and decoding of message bodies. A body carries
 * one or more events of the same group (shard key), in binlog order. Row values are JSON with Buffers as
 * `{"$b64": "..."}`; everything else is already text/number/null as mysql2 reads it.
 *
 * Two body versions are read; capture writes v2.
 * - v1: `{"v":1,"events":[{"t":table,"o":op,"b":{col:value…},"a":{…},"f":file,"p":pos,"i":row,"ts":ms,"r"?:true}…]}`.
 * - v2: the column names once per message. `{"v":2,"k":[[table,[col…]]…],"e":[[op,b,a,file,pos,row,ms,reread]…]}`
 *   with op `i|u|d`, reread `0|1`, and each image `null` or `[k, value…]`: the index of its table and column
 *   list in `k`, then the values in that list's order. An order_info update is ~40% fewer bytes to build,
 *   compress and parse, and no column name is parsed 160,000 times.
 * Either may arrive compressed (compress.ts).
 */
import { z } from 'zod';
import { inflateBody } from './compress.js';
import type { ChangeEvent, RowImage } from './model.js';

function encodeValue(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return { $b64: v.toString('base64') };
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v.toISOString();
  return v;
}

function decodeValue(v: unknown): unknown {
  if (v && typeof v === 'object' && !Array.isArray(v) && typeof (v as { $b64?: unknown }).$b64 === 'string') return Buffer.from((v as { $b64: string }).$b64, 'base64');
  return v;
}

/** A value `encodeValue` may change: an object (a Buffer, a Date) or a bigint. */
const special = (v: unknown) => v !== null && typeof v === 'object' || typeof v === 'bigint';

/** Maps an image's values with `f`; an image with only plain values (the usual case) is used as it is. */
const mapImage = (img: RowImage | undefined, f: (v: unknown) => unknown): RowImage | undefined => {
  if (img === undefined) return undefined;
  let plain = true;
  for (const k in img) if (special(img[k])) plain = false;
  return plain ? img : Object.fromEntries(Object.entries(img).map(([k, v]) => [k, f(v)]));
};

/** A row image: any plain object. (`z.record` would drop a column named `__proto__`, which MySQL allows.) */
const rowImageSchema = z.custom<RowImage>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'must be a row image object');

const wireEvent = z
  .object({
    t: z.string().min(1),
    o: z.enum(['insert', 'update', 'delete']),
    b: rowImageSchema.optional(),
    a: rowImageSchema.optional(),
    f: z.string().min(1),
    p: z.number().int().nonnegative(),
    i: z.number().int().nonnegative(),
    ts: z.number(),
    r: z.literal(true).optional(),
  })
  .strict()
  // A key-only `reread` event needs just one image with the key; otherwise the operation's images are required.
  .refine((e) => (e.r ? (e.a ?? e.b) : e.o === 'insert' ? e.a : e.o === 'delete' ? e.b : e.a && e.b) !== undefined, { message: 'missing row image for the operation' });

const messageBodySchema = z.object({ v: z.literal(1), events: z.array(wireEvent).min(1) }).strict();
const columnList = z.tuple([z.string().min(1), z.array(z.string())]);

/** A v2 event: `[op, before, after, file, position, rowIndex, timestamp, reread]`. */
export type WireEventV2 = [op: 'i' | 'u' | 'd', before: unknown[] | null, after: unknown[] | null, file: string, position: number, rowIndex: number, timestamp: number, reread: 0 | 1];

const isCount = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/**
 * What is wrong with one v2 event, or undefined. Checked by hand inside the zod schema: a z.tuple costs
 * ~3 µs per event, more than everything else apply does to decode it.
 */
function eventIssue(t: unknown, lists: readonly (readonly [string, readonly string[]])[]): { path: (string | number)[]; message: string } | undefined {
  if (!Array.isArray(t) || t.length !== 8) return { path: [], message: 'must be [op, before, after, file, position, rowIndex, timestamp, reread]' };
  const [o, b, a, f, p, i, ts, r] = t as unknown[];
  if (o !== 'i' && o !== 'u' && o !== 'd') return { path: [0], message: 'op must be "i", "u" or "d"' };
  if (typeof f !== 'string' || f === '') return { path: [3], message: 'file must be a non-empty string' };
  if (!isCount(p)) return { path: [4], message: 'position must be an integer ≥ 0' };
  if (!isCount(i)) return { path: [5], message: 'rowIndex must be an integer ≥ 0' };
  if (typeof ts !== 'number' || !Number.isFinite(ts)) return { path: [6], message: 'timestamp must be a number' };
  if (r !== 0 && r !== 1) return { path: [7], message: 'reread must be 0 or 1' };
  let table: string | undefined;
  for (const side of [1, 2] as const) {
    const img = t[side] as unknown;
    if (img === null) continue;
    if (!Array.isArray(img) || img.length === 0 || !Number.isInteger(img[0])) return { path: [side], message: 'must be null or [column list index, values…]' };
    const list = lists[img[0] as number];
    if (!list) return { path: [side], message: `refers to column list ${String(img[0])}; the message has ${lists.length}` };
    if (img.length !== list[1].length + 1) return { path: [side], message: `has ${img.length - 1} value(s) for the ${list[1].length} column(s) of its list` };
    if (table !== undefined && table !== list[0]) return { path: [], message: `images of two tables (${table}, ${list[0]})` };
    table = list[0];
  }
  const ok = r === 1 ? (a ?? b) !== null : o === 'i' ? a !== null : o === 'd' ? b !== null : a !== null && b !== null;
  return ok ? undefined : { path: [], message: 'missing row image for the operation' };
}

/** A v2 message body as zod checks it (the rules `validV2` checks by hand). */
export const messageBodyV2Schema = z
  .object({ v: z.literal(2), k: z.array(columnList).min(1), e: z.custom<WireEventV2[]>((v) => Array.isArray(v) && v.length > 0, 'must be a non-empty array of events') })
  .strict()
  .superRefine((m, ctx) => {
    m.k.forEach(([, cols], i) => {
      if (new Set(cols).size !== cols.length) ctx.addIssue({ code: 'custom', path: ['k', i], message: 'names a column twice' });
    });
    for (let i = 0; i < m.e.length; i++) {
      const issue = eventIssue(m.e[i], m.k);
      if (issue) ctx.addIssue({ code: 'custom', path: ['e', i, ...issue.path], message: issue.message });
    }
  });

type MessageBodyV2 = z.output<typeof messageBodyV2Schema>;

/**
 * `body` as a v2 message body when it is a valid one, checked by hand; else undefined (then
 * `messageBodyV2Schema` parses it, and names what is wrong). Every body it accepts, the schema accepts as
 * it is. The schema's parse of a valid body leaves its events reachable long enough to survive the young
 * generation's collections: decoding the CDC bench's 160,000 events that way cost ~0.2 s of scavenges more.
 */
export function validV2(body: unknown): MessageBodyV2 | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const m = body as Partial<Record<'v' | 'k' | 'e', unknown>>;
  if (Object.keys(m).length !== 3 || !Object.hasOwn(m, 'v') || !Object.hasOwn(m, 'k') || !Object.hasOwn(m, 'e') || m.v !== 2 || !Array.isArray(m.k) || m.k.length === 0 || !Array.isArray(m.e) || m.e.length === 0) return undefined;
  for (const list of m.k as unknown[]) {
    if (!Array.isArray(list) || list.length !== 2 || typeof list[0] !== 'string' || list[0] === '' || !Array.isArray(list[1])) return undefined;
    const cols = list[1] as unknown[];
    if (!cols.every((c) => typeof c === 'string') || new Set(cols).size !== cols.length) return undefined;
  }
  const lists = m.k as MessageBodyV2['k'];
  for (const e of m.e as unknown[]) if (eventIssue(e, lists)) return undefined;
  return m as MessageBodyV2;
}

/** An event as a v1 wire object. */
export function encodeEvent(e: ChangeEvent): z.input<typeof wireEvent> {
  return {
    t: e.table,
    o: e.op,
    ...(e.before ? { b: mapImage(e.before, encodeValue)! } : {}),
    ...(e.after ? { a: mapImage(e.after, encodeValue)! } : {}),
    f: e.position.file,
    p: e.position.position,
    i: e.rowIndex,
    ts: e.timestamp,
    ...(e.reread ? { r: true as const } : {}),
  };
}

/**
 * `JSON.stringify(encodeEvent(e))`, written directly: the same text (same key order) without building the
 * wire object first — capture encodes every event it sends.
 */
export function eventJson(e: ChangeEvent): string {
  let s = `{"t":${JSON.stringify(e.table)},"o":${JSON.stringify(e.op)}`;
  if (e.before) s += `,"b":${JSON.stringify(mapImage(e.before, encodeValue))}`;
  if (e.after) s += `,"a":${JSON.stringify(mapImage(e.after, encodeValue))}`;
  s += `,"f":${JSON.stringify(e.position.file)},"p":${JSON.stringify(e.position.position)},"i":${JSON.stringify(e.rowIndex)},"ts":${JSON.stringify(e.timestamp)}`;
  return e.reread ? `${s},"r":true}` : `${s}}`;
}

/**
 * The events of a message body (v1 or v2, compressed or not). Throws a ZodError naming what is wrong, or a
 * TypeError for a compressed body that does not inflate.
 */
export function decodeEvents(body: unknown): ChangeEvent[] {
  return decodeBody(inflateBody(body));
}

/** An uncompressed body's events (v1 or v2). */
function decodeBody(inner: unknown): ChangeEvent[] {
  if (typeof inner === 'object' && inner !== null && (inner as { v?: unknown }).v === 2) return decodeV2(validV2(inner) ?? messageBodyV2Schema.parse(inner));
  const m = messageBodySchema.parse(inner);
  return m.events.map((w) => ({
    table: w.t,
    op: w.o,
    ...(w.b ? { before: mapImage(w.b, decodeValue)! } : {}),
    ...(w.a ? { after: mapImage(w.a, decodeValue)! } : {}),
    position: { file: w.f, position: w.p },
    rowIndex: w.i,
    timestamp: w.ts,
    ...(w.r ? { reread: true } : {}),
  }));
}

const OPS = { i: 'insert', u: 'update', d: 'delete' } as const;
const OP_CODES = { insert: 'i', update: 'u', delete: 'd' } as const;

function decodeV2(m: MessageBodyV2): ChangeEvent[] {
  const lists = m.k.map(([table, cols]) => ({ table, cols, proto: cols.includes('__proto__'), template: templateOf(cols) }));
  const out = new Array<ChangeEvent>(m.e.length);
  for (let n = 0; n < m.e.length; n++) {
    const [o, b, a, f, p, i, ts, r] = m.e[n]!;
    // Built field by field (no spread of optional parts): apply decodes every event it writes.
    const e: Mutable<ChangeEvent> = { table: lists[(b ?? a)![0] as number]!.table, op: OPS[o], position: { file: f, position: p }, rowIndex: i, timestamp: ts };
    if (b) e.before = imageOf(lists[b[0] as number]!, b);
    if (a) e.after = imageOf(lists[a[0] as number]!, a);
    if (r) e.reread = true;
    out[n] = e;
  }
  return out;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * An object with the columns as its properties (null), in order: each image of the list starts as a copy of
 * it, so the images of a list share one shape and are built without adding properties one by one (~40% less
 * time per image). Not used for a list naming `__proto__` (see `imageOf`).
 */
function templateOf(cols: readonly string[]): RowImage {
  const t: RowImage = {};
  if (!cols.includes('__proto__')) for (const c of cols) t[c] = null;
  return t;
}

/** A v2 image's values back under their column names (Buffers restored). */
function imageOf(list: { cols: readonly string[]; proto: boolean; template: RowImage }, values: readonly unknown[]): RowImage {
  const { cols } = list;
  if (list.proto) {
    const img: RowImage = {};
    // Assigning `__proto__` would set the prototype, not a column.
    for (let j = 0; j < cols.length; j++) Object.defineProperty(img, cols[j]!, { value: decodeValue(values[j + 1]), enumerable: true, writable: true, configurable: true });
    return img;
  }
  const img: RowImage = { ...list.template };
  for (let j = 0; j < cols.length; j++) {
    const v = values[j + 1];
    img[cols[j]!] = v !== null && typeof v === 'object' ? decodeValue(v) : v;
  }
  return img;
}

/**
 * The column lists of one group's messages (v2): each image is written as `[index of its list, value…]`.
 * Images of one table nearly always have the same columns in the same order (zongji builds them from the
 * table map), so finding the list is a walk over the image's keys against one or two known lists.
 */
export class ColumnLists {
  readonly entries: [string, string[]][] = [];
  private readonly byTable = new Map<string, number[]>();

  image(table: string, img: RowImage): unknown[] {
    let known = this.byTable.get(table);
    if (known) {
      for (const index of known) {
        const values = valuesIn(index, this.entries[index]![1], img);
        if (values) return values;
      }
    } else this.byTable.set(table, (known = []));
    const cols = Object.keys(img).filter((k) => img[k] !== undefined);
    known.push(this.entries.length);
    this.entries.push([table, cols]);
    return valuesIn(this.entries.length - 1, cols, img)!;
  }

  eventJson(e: ChangeEvent): string {
    return JSON.stringify(this.event(e));
  }

  /** The v2 event array `[op, before, after, file, pos, row, ms, reread]`. */
  event(e: ChangeEvent): unknown[] {
    const b = e.before ? this.image(e.table, e.before) : null;
    const a = e.after ? this.image(e.table, e.after) : null;
    return [OP_CODES[e.op], b, a, e.position.file, e.position.position, e.rowIndex, e.timestamp, e.reread ? 1 : 0];
  }
}

/** `[index, value…]` when `img`'s defined columns are exactly `cols`, in order; else undefined. */
function valuesIn(index: number, cols: readonly string[], img: RowImage): unknown[] | undefined {
  const out = new Array<unknown>(cols.length + 1);
  out[0] = index;
  let j = 0;
  for (const k in img) {
    const v = img[k];
    if (v === undefined) continue; // as JSON.stringify of an object (v1) leaves it out
    if (k !== cols[j]) return undefined;
    out[++j] = special(v) ? encodeValue(v) : v;
  }
  return j === cols.length ? out : undefined;
}
