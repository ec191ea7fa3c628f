/**
 * Change events (CDC), pure: their wire format on SQS FIFO, group and deduplication ids, and packing
 * consecutive events of one group into messages under the SQS size limit.
 *
 * A message carries one or more events of the same group (shard key), in binlog order. Row values are
 * JSON with Buffers as `{"$b64": "..."}`; everything else is already text/number/null as mysql2 reads it.
 */
import { z } from 'zod';
import { createHash } from 'node:crypto';
import { deflateRaw, deflateRawSync, inflateRawSync } from 'node:zlib';
import { promisify } from 'node:util';

export type ChangeOp = 'insert' | 'update' | 'delete';
export type RowImage = Record<string, unknown>;

export interface Position {
  readonly file: string;
  readonly position: number;
}

export interface ChangeEvent {
  readonly table: string;
  readonly op: ChangeOp;
  readonly before?: RowImage;
  readonly after?: RowImage;
  readonly position: Position;
  readonly rowIndex: number;
  readonly timestamp: number;
  /** Set when the row image was too large for SQS: apply re-reads the row from the source by its key. */
  readonly reread?: boolean;
}

/** Total order of events: binlog file (names sort in order), position, row index. */
export function comparePositions(a: Position & { rowIndex?: number }, b: Position & { rowIndex?: number }): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  if (a.position !== b.position) return a.position < b.position ? -1 : 1;
  return (a.rowIndex ?? 0) - (b.rowIndex ?? 0);
}

export function positionText(e: Pick<ChangeEvent, 'position' | 'rowIndex'>): string {
  return `${e.position.file}:${e.position.position}:${e.rowIndex}`;
}

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

const special = (v: unknown) => v !== null && typeof v === 'object' || typeof v === 'bigint';

/** Maps an image's values with `f`; an image with only plain values (the usual case) is used as it is. */
const mapImage = (img: RowImage | undefined, f: (v: unknown) => unknown): RowImage | undefined => {
  if (img === undefined) return undefined;
  let plain = true;
  for (const k in img) if (special(img[k])) plain = false;
  return plain ? img : Object.fromEntries(Object.entries(img).map(([k, v]) => [k, f(v)]));
};

/** A row image: any plain object. (`z.record` would drop a column named `__proto__`, which MySQL allows.) */
const rowImageSchema = z.custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'must be a row image object');

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

export const messageBodySchema = z.object({ v: z.literal(1), events: z.array(wireEvent).min(1) }).strict();
/** A compressed body: `z` is the base64 of the raw-deflated `{"v":1,"events":[…]}` text. */
const compressedBodySchema = z.object({ v: z.literal(1), z: z.string().min(1) }).strict();

/** Bodies above this size are sent compressed (SQS bills per 64 KB, and row images compress well). */
export const COMPRESS_ABOVE = 4096;

export function compressBody(json: string): string {
  return json.length <= COMPRESS_ABOVE ? json : deflated(json);
}

const deflateRawAsync = promisify(deflateRaw);

/**
 * `compressBody` on zlib's thread pool: capture compresses a flush's messages there while its own thread
 * reads the binlog on.
 */
export async function compressBodyAsync(json: string): Promise<string> {
  if (json.length <= COMPRESS_ABOVE) return json;
  return envelope(await deflateRawAsync(Buffer.from(json, 'utf8'), { level: 1 }));
}

/** The messages with their bodies compressed (see `packMessages`' `compress: false`). */
export async function compressMessages(messages: readonly OutgoingMessage[]): Promise<OutgoingMessage[]> {
  return Promise.all(messages.map(async (m) => ({ ...m, body: await compressBodyAsync(m.body) })));
}

function inflateBody(body: unknown): unknown {
  const c = compressedBodySchema.safeParse(body);
  if (!c.success) return body;
  let text: string;
  try {
    text = inflateRawSync(Buffer.from(c.data.z, 'base64')).toString('utf8');
  } catch (err) {
    throw new TypeError(`compressed change message does not inflate: ${(err as Error).message}`);
  }
  return JSON.parse(text) as unknown;
}

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

export function decodeEvents(body: unknown): ChangeEvent[] {
  const m = messageBodySchema.parse(inflateBody(body));
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

/** SQS allows 128 characters of [A-Za-z0-9!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~] in group and deduplication ids. */
export function sqsId(text: string): string {
  const clean = text.replace(/[^A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g, '_');
  // Hash the UTF-16 code units: UTF-8 would turn every lone surrogate into U+FFFD and collide.
  return clean.length <= 128 ? clean : `${clean.slice(0, 80)}~${createHash('sha256').update(text, 'utf16le').digest('hex').slice(0, 40)}`;
}

/**
 * SQS message bodies may only hold #x9 #xA #xD #x20–#xD7FF #xE000–#xFFFD (and, on AWS, #x10000+ — the
 * local emulator refuses those). JSON text is ASCII outside its strings, so every other character
 * (emoji, lone surrogates, U+FFFE/FFFF) is written as a `\uXXXX` escape, which JSON.parse restores.
 */
const UNSAFE = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD]/;

export function sqsSafe(json: string): string {
  if (!UNSAFE.test(json)) return json; // the common case: nothing to escape, no copy
  return json.replace(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD]/gu, (ch) =>
    Array.from({ length: ch.length }, (_, i) => `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`).join(''),
  );
}

/**
 * A message body from its raw JSON: compressed above COMPRESS_ABOVE (now, or by `compressMessages` when
 * `compress` is false: base64, nothing to escape); else SQS-escaped, and compressed after all if escaping
 * took it past `maxBytes` (a small body of emoji grows up to 3×).
 */
function bodyOf(raw: string, maxBytes: number, compress: boolean): string {
  if (raw.length > COMPRESS_ABOVE) return compress ? compressBody(raw) : raw;
  const safe = sqsSafe(raw);
  return safe === raw || Buffer.byteLength(safe) <= maxBytes ? safe : deflated(raw);
}

function deflated(json: string): string {
  return envelope(deflateRawSync(Buffer.from(json, 'utf8'), { level: 1 }));
}

/** The compressed body: `{"v":1,"z":"<base64 of the raw-deflated JSON>"}`. */
const envelope = (deflatedJson: Buffer) => `{"v":1,"z":"${deflatedJson.toString('base64')}"}`;

export interface OutgoingMessage {
  readonly groupId: string;
  readonly dedupId: string;
  readonly body: string;
  readonly events: number;
  /** Position of the last event in the message. */
  readonly last: Pick<ChangeEvent, 'position' | 'rowIndex'>;
}

/**
 * Packs a batch of events (in binlog order) into messages: the events of each group, in their order, share
 * messages while they stay under `maxBytes` and `maxEventsPerMessage`. Order *across* groups is not kept
 * (it need not be); order within a group is. An event too large even alone is replaced by a key-only
 * `reread` event built by `keyOnly`. The deduplication id is the message's first event position, so a replay
 * that cuts the same batch reproduces it (and one that cuts differently is made harmless by idempotent apply).
 */
export function packMessages(
  events: readonly ChangeEvent[],
  groupOf: (e: ChangeEvent) => string,
  keyOnly: (e: ChangeEvent) => ChangeEvent,
  maxBytes = 240 * 1024,
  maxEventsPerMessage = 200,
  /** false: bodies are left uncompressed, for `compressMessages` to compress (off this thread) before sending. */
  compress = true,
): OutgoingMessage[] {
  const byGroup = new Map<string, { e: ChangeEvent; json: string; bytes: number }[]>();
  for (const raw of events) {
    const g = groupOf(raw);
    // Raw JSON: a body that gets compressed is base64 (ASCII) and needs no escaping; a small one is escaped
    // whole, and compressed after all if escaping takes it past maxBytes (bodyOf).
    let json = eventJson(raw);
    let bytes = Buffer.byteLength(json);
    if (bytes > maxBytes - 32) {
      json = eventJson(keyOnly(raw));
      bytes = Buffer.byteLength(json);
    }
    let list = byGroup.get(g);
    if (!list) byGroup.set(g, (list = []));
    list.push({ e: raw, json, bytes: bytes + 1 });
  }
  const out: OutgoingMessage[] = [];
  for (const [group, list] of byGroup) {
    let batch: { e: ChangeEvent; json: string; bytes: number }[] = [];
    let size = 0;
    const flush = () => {
      if (!batch.length) return;
      const first = batch[0]!.e;
      const last = batch[batch.length - 1]!.e;
      out.push({
        groupId: sqsId(group),
        dedupId: sqsId(positionText(first)),
        body: bodyOf(`{"v":1,"events":[${batch.map((b) => b.json).join(',')}]}`, maxBytes, compress),
        events: batch.length,
        last: { position: last.position, rowIndex: last.rowIndex },
      });
      batch = [];
      size = 0;
    };
    for (const item of list) {
      if (size + item.bytes > maxBytes - 32 || batch.length >= maxEventsPerMessage) flush();
      batch.push(item);
      size += item.bytes;
    }
    flush();
  }
  return out;
}
