/**
 * Compressed message bodies: a body above COMPRESS_ABOVE characters is sent as
 * `{"v":<the body's version>,"z":"<base64 of the raw-deflated JSON>"}`. Compressing has a synchronous form
 * and one that runs zlib on its thread pool (capture compresses while it reads on); inflating is synchronous
 * (apply: see `eventsOf`). They share the envelope, the threshold and the zlib level.
 */
import { deflateRaw, deflateRawSync, inflateRawSync } from 'node:zlib';
import { promisify } from 'node:util';
import type { OutgoingMessage } from './model.js';

/** Bodies above this size are sent compressed (SQS bills per 64 KB, and row images compress well). */
export const COMPRESS_ABOVE = 4096;

const DEFLATE = { level: 1 } as const;
const deflateRawAsync = promisify(deflateRaw);

/** The compressed body of `json` from its deflated bytes. */
const envelope = (json: string, deflated: Buffer) => `{"v":${json.startsWith('{"v":2') ? 2 : 1},"z":"${deflated.toString('base64')}"}`;

/** The body to send for `json`: itself up to COMPRESS_ABOVE characters, else compressed. */
export function compressBody(json: string): string {
  return json.length <= COMPRESS_ABOVE ? json : deflateBody(json);
}

/**
 * `compressBody` on zlib's thread pool: capture compresses a flush's messages there while its own thread
 * reads the binlog on.
 */
async function compressBodyAsync(json: string): Promise<string> {
  return json.length <= COMPRESS_ABOVE ? json : envelope(json, await deflateRawAsync(Buffer.from(json, 'utf8'), DEFLATE));
}

/** `json` compressed, whatever its size. */
export function deflateBody(json: string): string {
  return envelope(json, deflateRawSync(Buffer.from(json, 'utf8'), DEFLATE));
}

/**
 * The messages with their bodies compressed, on this thread: for a thread with time to spare (capture's while
 * its worker reads), cheaper in all than the thread pool, whose hand-over costs this thread more than the
 * deflate itself (~0.16 against ~0.06 ms a 16 KB body).
 */
export function compressMessagesNow(messages: readonly OutgoingMessage[]): OutgoingMessage[] {
  return messages.map((m) => ({ ...m, body: compressBody(m.body) }));
}

/** The messages with their bodies compressed (see `packMessages`' `compress: false`). */
export async function compressMessages(messages: readonly OutgoingMessage[]): Promise<OutgoingMessage[]> {
  return Promise.all(messages.map(async (m) => ({ ...m, body: await compressBodyAsync(m.body) })));
}

/**
 * The deflated bytes of a compressed body (`{v: 1 | 2, z: non-empty string}` and nothing else), or
 * undefined for a plain one. Checked by hand, not by a schema: a schema's failed parse of a large plain body
 * left it reachable long enough to survive young-generation collections.
 */
function compressedBytes(body: unknown): Buffer | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const c = body as { v?: unknown; z?: unknown };
  if ((c.v !== 1 && c.v !== 2) || typeof c.z !== 'string' || c.z === '' || Object.keys(c).length !== 2 || !Object.hasOwn(c, 'v') || !Object.hasOwn(c, 'z')) return undefined;
  return Buffer.from(c.z, 'base64');
}

const doesNotInflate = (err: unknown) => new TypeError(`compressed change message does not inflate: ${(err as Error).message}`);
const parseInflated = (inflated: Buffer) => JSON.parse(inflated.toString('utf8')) as unknown;

/** The parsed body inside a compressed one; any other body as it is. Throws a TypeError when it does not inflate. */
export function inflateBody(body: unknown): unknown {
  const bytes = compressedBytes(body);
  if (!bytes) return body;
  let inflated: Buffer;
  try {
    inflated = inflateRawSync(bytes);
  } catch (err) {
    throw doesNotInflate(err);
  }
  return parseInflated(inflated);
}
