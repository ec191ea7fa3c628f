/**
 * `followCutover` (the local CLI's step lines): one line per status change of the `CUTOVER` item, naming the
 * side the verb freezes — the source for a cut-over, the new layout for a rollback.
 */
import { describe, expect, it } from 'vitest';
import { followCutover } from '../../local/cutover.js';
import type { CutoverState } from '../../lambdas/core/model.js';

/** The lines printed while the item goes through `statuses`, one reading each. */
async function linesFor(statuses: readonly CutoverState['status'][], verb: 'cutover' | 'rollback'): Promise<string[]> {
  const lines: string[] = [];
  let read = 0;
  const updatedAt = Date.now() + 60_000;
  const store = {
    getCutover: () => Promise.resolve({ status: statuses[Math.min(read++, statuses.length - 1)]!, updatedAt } as CutoverState),
  };
  const follow = followCutover(store, 'm', (l) => lines.push(l), 1, verb);
  while (read < statuses.length + 2) await new Promise((r) => setTimeout(r, 2));
  await follow.stop();
  return lines;
}

describe('followCutover', () => {
  it.each([
    ['cutover', ['cut-over: freezing writes to the source tables (once in-flight transactions end)', 'cut-over: frozen; capture and apply catching up to the positions of the freeze', 'cut-over: failed; the source was thawed']],
    ['rollback', ['rollback: freezing writes to the new layout (once in-flight transactions end)', 'rollback: frozen; capture and apply catching up to the positions of the freeze', 'rollback: failed; the new layout was thawed']],
  ] as const)('%s: one line per status change, naming the side it freezes', async (verb, expected) => {
    expect(await linesFor(['FROZEN', 'FROZEN', 'CATCHING_UP', 'FAILED'], verb)).toEqual(expected);
  });
});
