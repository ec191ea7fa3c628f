/**
 * The synthesized Cutover state machine, run by the local runtime over real MariaDB: a switch under live
 * writes; a postponed cut-over that waits ready to switch (nothing frozen, CDC following) until the go; an
 * external freeze that waits for the operator's confirmation; a failed switch that ends in CutoverFailed with
 * the source thawed, and a precheck refused with its reasons. (`{abort: true}` runs in cutover-kill.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import type { Operator } from '../../local/runtime.js';
import { checkAll } from '../../local/checksum.js';
import { runCutover } from '../../lambdas/app/cutover.js';
import { cutoverError } from '../../local/cutover.js';
import type { CutoverDeps, OperatorWait } from '../../lambdas/app/cutover.js';
import { integrationSuite } from '../helpers/suite.js';
import { cutoverFixtures } from '../helpers/cutover.js';

const suite = integrationSuite({ databases: 2, tablesPerDb: 2, segments: 2, concurrency: 2, items: false });
const { cutoverConfig, migrated, liveWriter, writeNow } = cutoverFixtures(suite, 1200);




/** An operator the test answers: `waiting` lists what it was asked, `answer()` resolves the pending ask. */
function testOperator() {
  const waiting: OperatorWait[] = [];
  let release: () => void = () => undefined;
  const operator: Operator = (wait) => {
    waiting.push(wait);
    return new Promise<void>((r) => (release = r));
  };
  return { operator, waiting, answer: () => release() };
}

type Switched = { precheck: { postpone: boolean; freeze: string; steps: string[] }; switch: { freezeMs: number; rowsChecked: number; routing: { migrationId: string } } };

describe('the Cutover state machine', () => {
  it('switches under live writes: Precheck → Switch → Switched, with the routing; the targets equal the source', async () => {
    const config = cutoverConfig('cm_ok');
    await migrated(config, async (rt, src) => {
      const writer = liveWriter(src);
      let out: Switched;
      try {
        await new Promise((r) => setTimeout(r, 300));
        await rt.cdc!.catchUp(30_000);
        out = (await rt.executeCutover().result) as Switched;
      } finally {
        await writer.stop();
      }
      expect(out.precheck).toMatchObject({ postpone: false, freeze: 'lock' });
      // The check while frozen: the rows the writer changed since the last verification began, not the table.
      expect(out.switch).toMatchObject({ routing: { migrationId: config.migrationId } });
      expect(out.switch.rowsChecked).toBeGreaterThan(0);
      expect(out.switch.rowsChecked).toBeLessThanOrEqual(1200);
      expect(out.switch.freezeMs).toBeGreaterThan(0);
      expect(await rt.store.getCutover(config.migrationId)).toMatchObject({ status: 'DONE', routing: { migrationId: config.migrationId } });
      await rt.cdc!.drain(30_000);
      const [check] = await checkAll(config, suite.pool, [suite.pool]);
      expect(check!.match).toBe(true);
    });
  });

  it('postponed: waits READY with nothing frozen while CDC follows live writes, then switches on the go', async () => {
    const config = cutoverConfig('cm_post', { postpone: true });
    await migrated(config, async (rt, src) => {
      const op = testOperator();
      const execution = rt.executeCutover({}, op.operator);
      execution.result.catch(() => undefined);
      await expect.poll(() => op.waiting, { timeout: 30_000 }).toEqual(['go']);
      expect(await rt.store.getCutover(config.migrationId)).toMatchObject({ status: 'READY', taskToken: expect.stringMatching(/^local:/) });
      // Nothing is frozen: writes go through, and CDC brings them over.
      await writeNow(src, 7, 'while ready');
      await rt.cdc!.catchUp(30_000);
      op.answer();
      const out = (await execution.result) as Switched;
      expect(out.precheck.postpone).toBe(true);
      expect(out.switch.rowsChecked).toBe(1); // the one row changed while ready
      expect(await rt.store.getCutover(config.migrationId)).toMatchObject({ status: 'DONE' });
    });
  });

  it('freeze external: waits for the confirmation that writes stopped, then switches', async () => {
    const config = cutoverConfig('cm_ext', { freeze: 'external' });
    await migrated(config, async (rt) => {
      const op = testOperator();
      const execution = rt.executeCutover({}, op.operator);
      execution.result.catch(() => undefined);
      await expect.poll(() => op.waiting, { timeout: 30_000 }).toEqual(['writes-stopped']);
      expect(await rt.store.getCutover(config.migrationId)).toMatchObject({ status: 'AWAITING_WRITES_STOPPED' });
      op.answer();
      await expect(execution.result).resolves.toMatchObject({ switch: { rowsChecked: 0 } }); // nothing changed since the verification
      expect(await rt.store.getCutover(config.migrationId)).toMatchObject({ status: 'DONE', freeze: 'external' });
    });
  });

  it('a switch whose catch-up runs out of time ends in CutoverFailed, the source thawed; a refused precheck fails with its reasons', async () => {
    const config = cutoverConfig('cm_fail', { freezeTimeoutSeconds: 1 });
    await migrated(config, async (rt, src) => {
      // Once frozen, the queue never drains (as if apply had stopped): catch-up cannot finish.
      const stuck = (d: CutoverDeps): CutoverDeps => ({ ...d, backlog: async () => ((await rt.store.getCutover(config.migrationId))?.status === 'CATCHING_UP' ? 1 : d.backlog()) });
      const err = await rt.executeCutover({}, undefined, stuck).result.then(() => 'switched', (e: unknown) => e);
      expect(String(err)).toMatch(/CutoverFailedError|cut-over failed after the freeze, and the source was thawed/);
      expect(await rt.store.getCutover(config.migrationId)).toMatchObject({ status: 'FAILED', error: expect.stringMatching(/within 1 s/) });
      await writeNow(src, 3, 'after the thaw');
      // Apply stops, so CDC is behind: the next cut-over is refused before anything is frozen.
      await rt.cdc!.poller.stop();
      await suite.pool.query(`UPDATE ${src} SET remark = 'never applied' WHERE id = 2`);
      const refused = cutoverError(await rt.executeCutover().result.then(() => 'switched', (e: unknown) => e));
      expect(String((refused as Error).message)).toMatch(/cut-over refused/);
      expect(String((refused as Error).message)).toMatch(/CDC is more than 5 s behind end to end .*(CDC apply did not catch up within 5000 ms \(backlog [1-9]|message\(s\) waiting)/);
      await expect(runCutover(rt.ctx, { backlog: () => rt.cdc!.queue.backlog(), dead: async () => 0 }, { dryRun: true })).rejects.toThrow(/cut-over refused/);
    });
  });
});
