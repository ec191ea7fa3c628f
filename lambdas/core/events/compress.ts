/**
 * Compressed message bodies: a body above COMPRESS_ABOVE characters is sent as
 * `{"v":<the body's version>,"z":"<base64 of the raw-deflated JSON>"}`. Each operation has a synchronous
 * form and one that runs zlib on its thread pool; both share the envelope, the threshold, the zlib level
 * and the error for a body that does not inflate.
 */
import { deflateRaw, deflateRawSync, inflateRaw, inflateRawSync } from 'node:zlib';
import { promisify } from 'node:util';
import { z } from 'zod';
import type { OutgoingMessage } from './model.js';

/** Bodies above this size are sent compressed (SQS bills per 64 KB, and row images compress well). */
export const COMPRESS_ABOVE = 4096;

const DEFLATE = { level: 1 } as const;
const deflateRawAsync = promisify(deflateRaw);
const inflateRawAsync = promisify(inflateRaw);

/** A compressed body: `z` is the base64 of the raw-deflated body text (`v` is that body's version). */
const compressedBodySchema = z.object({ v: z.union([z.literal(1), z.literal(2)]), z: z.string().min(1) }).strict();

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
  return messages.map((m) => (m.body.length <= COMPRESS_ABOVE ? m : { ...m, body: deflateBody(m.body) }));
}

/** The messages with their bodies compressed (see `packMessages`' `compress: false`). */
export async function compressMessages(messages: readonly OutgoingMessage[]): Promise<OutgoingMessage[]> {
  return Promise.all(messages.map(async (m) => ({ ...m, body: await compressBodyAsync(m.body) })));
}

/** The deflated bytes of a compressed body, or undefined for a plain one. */
function compressedBytes(body: unknown): Buffer | undefined {
  const c = compressedBodySchema.safeParse(body);
  return c.success ? Buffer.from(c.data.z, 'base64') : undefined;
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

/** `inflateBody` on zlib's thread pool. */
export async function inflateBodyAsync(body: unknown): Promise<unknown> {
  const bytes = compressedBytes(body);
  if (!bytes) return body;
  const inflated = await inflateRawAsync(bytes).catch((err: unknown) => {
    throw doesNotInflate(err);
  });
  return parseInflated(inflated);
}
