/**
 * Packing a batch of change events into SQS FIFO messages: group and deduplication ids, bodies under the
 * size limit (wire.ts), SQS-safe text and compression (compress.ts).
 */
import { createHash } from 'node:crypto';
import { COMPRESS_ABOVE, compressBody, deflateBody } from './compress.js';
import { positionText, type ChangeEvent, type OutgoingMessage } from './model.js';
import { ColumnLists, eventJson } from './wire.js';

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
const UNSAFE = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD]/;

export function sqsSafe(json: string): string {
  if (!UNSAFE.test(json)) return json; // the common case: nothing to escape, no copy
  return json.replace(/[^\t\n\r\x20-\uD7FF\uE000-\uFFFD]/gu, (ch) =>
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
  return safe === raw || Buffer.byteLength(safe) <= maxBytes ? safe : deflateBody(raw);
}

/** How `packMessages` groups events and sizes messages. */
export interface PackOptions {
  /** The FIFO group of an event: events of one group share messages and keep their order. */
  readonly groupOf: (e: ChangeEvent) => string;
  /** The key-only `reread` event that replaces an event too large for a message even alone. */
  readonly keyOnly: (e: ChangeEvent) => ChangeEvent;
  /** Largest body in bytes. @default 245760 (240 KiB) */
  readonly maxBytes?: number;
  /** Most events in one message. @default 200 */
  readonly maxEventsPerMessage?: number;
  /**
   * Compress bodies above COMPRESS_ABOVE here. false leaves them uncompressed, for `compressMessages` to
   * compress off this thread before sending. @default true
   */
  readonly compress?: boolean;
  /**
   * Put before every deduplication id: the source server's mark when there are several (their binlogs have
   * the same file names and positions, and SQS deduplicates across the whole queue). @default ''
   */
  readonly dedupPrefix?: string;
}

/**
 * Packs a batch of events (in binlog order) into messages: the events of each group, in their order, share
 * messages while they stay under `maxBytes` and `maxEventsPerMessage`. Order *across* groups is not kept
 * (it need not be); order within a group is. An event too large even alone is replaced by a key-only
 * `reread` event built by `keyOnly`. The deduplication id is the positions of the message's first and last
 * events: a replay that cuts the same batch reproduces it (and SQS drops the copy), and a replay that cuts
 * differently makes other ids, so a longer message is never dropped as a copy of a shorter one that carried
 * only its start (re-applying what the shorter one carried changes nothing: apply is idempotent).
 *
 * Bodies are v2 (column names once per message, the group's lists); a group whose lists alone would take
 * more than a quarter of `maxBytes` (tables of thousands of columns) is written as v1, whose key-only events
 * stay small whatever the table.
 */
/** A message's deduplication id: where its first and its last event are (see `packMessages`). */
function dedupIdOf(prefix: string, first: ChangeEvent, last: ChangeEvent): string {
  return sqsId(first === last ? `${prefix}${positionText(first)}` : `${prefix}${positionText(first)}-${positionText(last)}`);
}

export function packMessages(events: readonly ChangeEvent[], options: PackOptions): OutgoingMessage[] {
  const { groupOf, keyOnly, maxBytes = 240 * 1024, maxEventsPerMessage = 200, compress = true, dedupPrefix = '' } = options;
  const byGroup = new Map<string, ChangeEvent[]>();
  for (const e of events) {
    const g = groupOf(e);
    let list = byGroup.get(g);
    if (!list) byGroup.set(g, (list = []));
    list.push(e);
  }
  const out: OutgoingMessage[] = [];
  for (const [group, all] of byGroup) {
    // The common case — each run of maxEventsPerMessage of a group's events fits one message — as one
    // JSON.stringify a message; from the first run that does not fit, event by event.
    let start = 0;
    while (start < all.length) {
      const chunk = start === 0 && all.length <= maxEventsPerMessage ? all : all.slice(start, start + maxEventsPerMessage);
      const whole = wholeV2(chunk, maxBytes, maxEventsPerMessage);
      if (whole === undefined) break;
      const last = chunk[chunk.length - 1]!;
      out.push({
        groupId: sqsId(group),
        dedupId: dedupIdOf(dedupPrefix, chunk[0]!, last),
        body: bodyOf(whole, maxBytes, compress),
        events: chunk.length,
        last: { position: last.position, rowIndex: last.rowIndex },
      });
      start += chunk.length;
    }
    if (start === all.length) continue;
    const list = start === 0 ? all : all.slice(start);
    // Raw JSON: a body that gets compressed is base64 (ASCII) and needs no escaping; a small one is escaped
    // whole, and compressed after all if escaping takes it past maxBytes (bodyOf).
    const packed = packV2(list, keyOnly, maxBytes) ?? packV1(list, keyOnly, maxBytes);
    let batch: Item[] = [];
    let size = packed.overhead;
    const flush = () => {
      if (!batch.length) return;
      const first = batch[0]!.e;
      const last = batch[batch.length - 1]!.e;
      out.push({
        groupId: sqsId(group),
        dedupId: dedupIdOf(dedupPrefix, first, last),
        body: bodyOf(`${packed.head}${batch.map((b) => b.json).join(',')}]}`, maxBytes, compress),
        events: batch.length,
        last: { position: last.position, rowIndex: last.rowIndex },
      });
      batch = [];
      size = packed.overhead;
    };
    for (const item of packed.items) {
      if (size + item.bytes > maxBytes || batch.length >= maxEventsPerMessage) flush();
      batch.push(item);
      size += item.bytes;
    }
    flush();
  }
  return out;
}

/** An event as it goes into a body: its JSON and its bytes with the comma before it. */
interface Item {
  readonly e: ChangeEvent;
  readonly json: string;
  readonly bytes: number;
  /** Already replaced by its key-only event (packV2). */
  readonly slim?: boolean;
}

interface Packed {
  /** The body up to the first event: `{"v":2,"k":[…],"e":[`. */
  readonly head: string;
  /** Bytes of the head and the closing `]}`. */
  readonly overhead: number;
  readonly items: Item[];
}

function item(e: ChangeEvent, json: string): Item {
  return { e, json, bytes: Buffer.byteLength(json) + 1 };
}

/**
 * A group's v2 body when all its events fit one message (count and bytes): the same text `packV2`'s items
 * join to, written with one JSON.stringify of the event arrays instead of one per event (~2.5 µs an event
 * less on the capture's thread). Undefined otherwise.
 */
function wholeV2(list: readonly ChangeEvent[], maxBytes: number, maxEvents: number): string | undefined {
  if (list.length > maxEvents) return undefined;
  const lists = new ColumnLists();
  const events = list.map((e) => lists.event(e));
  const keys = JSON.stringify(lists.entries);
  if (keys.length + 16 > maxBytes / 4) return undefined; // packV2 decides (v1 for lists this large)
  const body = `{"v":2,"k":${keys},"e":${JSON.stringify(events)}}`;
  return Buffer.byteLength(body) <= maxBytes ? body : undefined;
}

/** One group as v2, or undefined when its column lists are too large to repeat in every message. */
function packV2(list: readonly ChangeEvent[], keyOnly: (e: ChangeEvent) => ChangeEvent, maxBytes: number): Packed | undefined {
  const lists = new ColumnLists();
  const items = list.map((e) => item(e, lists.eventJson(e)));
  // An event that does not fit beside the head goes key-only; its key list may grow the head, so again.
  for (;;) {
    const head = `{"v":2,"k":${JSON.stringify(lists.entries)},"e":[`;
    const overhead = Buffer.byteLength(head) + 2;
    if (overhead > maxBytes / 4) return undefined;
    let changed = false;
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (it.slim || overhead + it.bytes <= maxBytes) continue;
      items[i] = { ...item(it.e, lists.eventJson(keyOnly(it.e))), slim: true };
      changed = true;
    }
    if (!changed) return { head, overhead, items };
  }
}

function packV1(list: readonly ChangeEvent[], keyOnly: (e: ChangeEvent) => ChangeEvent, maxBytes: number): Packed {
  const head = '{"v":1,"events":[';
  const overhead = head.length + 2;
  const items = list.map((e) => {
    const it = item(e, eventJson(e));
    return overhead + it.bytes <= maxBytes ? it : item(e, eventJson(keyOnly(e)));
  });
  return { head, overhead, items };
}
