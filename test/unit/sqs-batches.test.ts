/**
 * Sending change messages: batches never carry two messages of one group, so a SendMessageBatch that
 * SQS accepts only in part can be resent without reordering any group (checked with a fake SQS client
 * that fails entries at random).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { ChangeQueue, groupDistinctBatches } from '../../lambdas/adapters/sqs.js';
import type { OutgoingMessage } from '../../lambdas/core/events/model.js';

const msg = (groupId: string, n: number, bytes = 10): OutgoingMessage => ({
  groupId,
  dedupId: `${groupId}-${n}`,
  body: 'x'.repeat(bytes),
  events: 1,
  last: { position: { file: 'bin.000001', position: n }, rowIndex: 0 },
});

const messagesArb = fc
  .array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'), fc.integer({ min: 1, max: 120_000 })), { maxLength: 120 })
  .map((xs) => xs.map(([g, bytes], n) => msg(g, n, bytes)));

const perGroup = (ms: readonly OutgoingMessage[]) => {
  const m = new Map<string, string[]>();
  for (const x of ms) m.set(x.groupId, [...(m.get(x.groupId) ?? []), x.dedupId]);
  return m;
};

describe('groupDistinctBatches', () => {
  it('cuts batches of ≤ 10 entries and ≤ 256 KiB with distinct groups, keeping every message once and each group in order', () => {
    fc.assert(
      fc.property(messagesArb, (messages) => {
        const batches = groupDistinctBatches(messages);
        for (const b of batches) {
          expect(b.length).toBeGreaterThan(0);
          expect(b.length).toBeLessThanOrEqual(10);
          expect(new Set(b.map((m) => m.groupId)).size).toBe(b.length);
          if (b.length > 1) expect(b.reduce((a, m) => a + Buffer.byteLength(m.body), 0)).toBeLessThanOrEqual(256 * 1024);
        }
        expect(perGroup(batches.flat())).toEqual(perGroup(messages));
      }),
    );
  });

  it('packs distinct groups together', () => {
    const batches = groupDistinctBatches(['a', 'b', 'a', 'c', 'b', 'a'].map((g, n) => msg(g, n)));
    expect(batches.map((b) => b.map((m) => m.dedupId))).toEqual([['a-0', 'b-1', 'c-3'], ['a-2', 'b-4'], ['a-5']]);
  });
});

describe('ChangeQueue.send with partial batch failures', () => {
  it('delivers every group in order even when SQS rejects some entries of a batch', async () => {
    await fc.assert(
      fc.asyncProperty(messagesArb, fc.integer({ min: 1, max: 2 ** 31 - 1 }), async (messages, seed) => {
        let state = seed;
        const rand = () => ((state = (state * 48271) % 2147483647) / 2147483647);
        const delivered: string[] = [];
        const failures = new Map<string, number>();
        const fake = {
          send: async (cmd: { input: { Entries: { Id: string; MessageGroupId: string; MessageDeduplicationId: string }[] } }) => {
            const failed: { Id: string; SenderFault: boolean; Code: string }[] = [];
            for (const e of cmd.input.Entries) {
              // Up to 3 failures per message: within the sender's 6 attempts.
              const f = failures.get(e.MessageDeduplicationId) ?? 0;
              if (f < 3 && rand() < 0.3) {
                failures.set(e.MessageDeduplicationId, f + 1);
                failed.push({ Id: e.Id, SenderFault: false, Code: 'InternalError' });
              }
              else delivered.push(e.MessageDeduplicationId);
            }
            return { Successful: [], Failed: failed };
          },
        } as unknown as SQSClient;
        const queue = new ChangeQueue(fake, 'q', 0);
        await queue.send(messages, 3);
        const byDedup = new Map(messages.map((m) => [m.dedupId, m]));
        expect(perGroup(delivered.map((d) => byDedup.get(d)!))).toEqual(perGroup(messages));
      }),
      { numRuns: 40 },
    );
  }, 60_000);
});
