/**
 * Cut-over on the real stack (local runtime, real MariaDB): precheck refusals with their reasons; a cut-over
 * under live writes that the freeze stops, ending with the targets equal to the source; a catch-up past its
 * timeout that thaws the source and reports; and `--abort` thawing a source whose cut-over hung while frozen
 * (a lock session left open, the read-only switch left on).
 */
import { describe, expect, it } from 'vitest';
import { SendMessageCommand, PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { LocalRuntime } from '../../local/runtime.js';
import { CdcStuckError } from '../../local/cdc.js';
import { checkAll } from '../../local/checksum.js';
import type { MigrationConfig } from '../../lambdas/core/config.js';
import { abortCutover, CutoverFailedError, CutoverRefusedError, runCutover, type CutoverDeps } from '../../lambdas/app/cutover.js';
import { verifyTable } from '../../lambdas/app/verify.js';
import { migrationStatus } from '../../lambdas/app/status.js';
import { integrationSuite } from '../helpers/suite.js';
import { cutoverFixtures } from '../helpers/cutover.js';

const suite = integrationSuite({ databases: 2, tablesPerDb: 2, segments: 2, concurrency: 2, items: false });
const { cutoverConfig, migrated, liveWriter, writeNow } = cutoverFixtures(suite, 1500);


const depsOf = (rt: LocalRuntime, extra: Partial<CutoverDeps> = {}): CutoverDeps => ({ ...rt.cutoverDeps(), ...extra });


const readOnly = async () => {
  const [[row]] = (await suite.pool.query('SELECT @@GLOBAL.read_only AS v')) as unknown as [[{ v: number }]];
  return Number(row.v);
};

/** The cut-over is past its freeze, catching up. */
const catchingUp = async (rt: LocalRuntime, config: MigrationConfig) => (await rt.store.getCutover(config.migrationId))?.status === 'CATCHING_UP';

const refusal = (err: unknown) => (err instanceof CutoverRefusedError ? err.issues : [`not refused: ${String(err)}`]);

describe('cut-over', () => {
  it('precheck refuses, naming each reason: a message in the DLQ, rows verification found different, CDC behind', async () => {
    const config = cutoverConfig('co_pre', { maxLagSeconds: 3 });
    await migrated(config, async (rt, src) => {
      await expect(runCutover(rt.ctx, depsOf(rt), { dryRun: true })).resolves.toMatchObject({ dryRun: true });

      await rt.cdc!.queues.sqs.send(new SendMessageCommand({ QueueUrl: rt.cdc!.queues.dlqUrl, MessageBody: '{}', MessageGroupId: 'g', MessageDeduplicationId: 'poison' }));
      const target0 = `\`${config.target.databasePattern.replace('{db}', '0')}\`.order_info_0`;
      await suite.pool.query(`UPDATE ${target0} SET remark = 'drifted' LIMIT 2`);
      await verifyTable(rt.ctx, 'order_info', { repair: false });
      await rt.cdc!.stop();
      await suite.pool.query(`UPDATE ${src} SET remark = 'while capture is stopped' WHERE id = 1`);
      await new Promise((r) => setTimeout(r, 3100));

      const issues = refusal(await runCutover(rt.ctx, depsOf(rt), { dryRun: true }).catch((e: unknown) => e));
      expect(issues).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^1 change message\(s\) in the DLQ/),
          expect.stringMatching(/^order_info: \d+ segment\(s\) not verified CLEAN or REPAIRED/),
          expect.stringMatching(/^order_info: 2 row\(s\) found different/),
          expect.stringMatching(/^source 127\.0\.0\.1:\d+: CDC is \d+\.\d s behind, over cutover\.maxLagSeconds 3/),
        ]),
      );
      expect(await rt.store.getCutover(config.migrationId)).toBeUndefined(); // nothing was frozen
      await rt.cdc!.queues.sqs.send(new PurgeQueueCommand({ QueueUrl: rt.cdc!.queues.dlqUrl }));
    });
  });

  it("the catch-up before the precheck (`drain` with giveUp) ends early: at once with a message in the DLQ, and when apply keeps failing and nothing moves", async () => {
    const config = cutoverConfig('co_stuck');
    await migrated(config, async (rt, src) => {
      const cdc = rt.cdc!;
      await cdc.queues.sqs.send(new SendMessageCommand({ QueueUrl: cdc.queues.dlqUrl, MessageBody: '{}', MessageGroupId: 'g', MessageDeduplicationId: 'poison' }));
      await expect(cdc.drain(60_000, false, { stalledMs: 60_000 })).rejects.toThrow(CdcStuckError);
      await expect(cdc.drain(60_000, false, { stalledMs: 60_000 })).rejects.toThrow(/^1 change message\(s\) in the DLQ/);
      await cdc.queues.sqs.send(new PurgeQueueCommand({ QueueUrl: cdc.queues.dlqUrl }));

      // Apply fails while the target tables are away: the change stays in the queue, retried.
      const dbs = [0, 1].map((i) => config.target.databasePattern.replace('{db}', String(i)));
      const [tables] = (await suite.pool.query(`SELECT TABLE_SCHEMA AS db, TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (?) AND TABLE_NAME LIKE 'order_info%'`, [dbs])) as unknown as [{ db: string; t: string }[]];
      expect(tables.length).toBe(4);
      const rename = (from: (t: string) => string, to: (t: string) => string) =>
        suite.pool.query(`RENAME TABLE ${tables.map(({ db, t }) => `\`${db}\`.\`${from(t)}\` TO \`${db}\`.\`${to(t)}\``).join(', ')}`);
      await rename((t) => t, (t) => `${t}_away`);
      try {
        await suite.pool.query(`UPDATE ${src} SET remark = 'while the targets are away' WHERE id BETWEEN 1 AND 50`);
        const started = Date.now();
        const err = await cdc.drain(60_000, false, { stalledMs: 1500 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(CdcStuckError);
        expect(String((err as Error).message)).toMatch(/^CDC has not moved for \d+ s \(backlog [1-9]\d*, caught up (true|false)\); last error: .*order_info/);
        // Well before the wait's own 60 s timeout.
        expect(Date.now() - started).toBeLessThan(30_000);
      } finally {
        await rename((t) => `${t}_away`, (t) => t);
      }
      // Once apply can write again the same wait catches up (the failed message comes back after its visibility timeout).
      await expect(cdc.drain(120_000, false, { stalledMs: 60_000 })).resolves.toMatchObject({ backlog: 0, dead: 0 });
      const [check] = await checkAll(config, suite.pool, [suite.pool]);
      expect(check!.match).toBe(true);
    });
  });

  it('under live writes: the lock freezes them, catch-up and the check pass, the switch is recorded with the routing, and writes go on after the thaw', async () => {
    const config = cutoverConfig('co_ok');
    await migrated(config, async (rt, src) => {
      const writer = liveWriter(src);
      try {
      await new Promise((r) => setTimeout(r, 300));
      await rt.cdc!.catchUp(30_000);
      const before = writer.count();
      const out = await runCutover(rt.ctx, depsOf(rt));
      expect(out).toMatchObject({ dryRun: false });
      expect(out.rowsChecked).toBeGreaterThan(0);
      expect(out.rowsChecked).toBeLessThanOrEqual(1500);
      expect(out.freezeMs).toBeGreaterThan(0);
      expect(out.routing).toMatchObject({ migrationId: config.migrationId, routing: config.routing, databases: [{ index: 0 }, { index: 1 }] });
      expect(out.routing!.frozenAt).toHaveLength(1);
      const state = await rt.store.getCutover(config.migrationId);
      expect(state).toMatchObject({ status: 'DONE', freeze: 'lock', rowsChecked: out.rowsChecked });
      expect((await migrationStatus(config, rt.store)).cutover).toMatchObject({ status: 'DONE', freeze: 'lock' });
      // The writer was held during the freeze and goes on after it.
      const after = writer.count();
      await new Promise((r) => setTimeout(r, 200));
      expect(writer.count()).toBeGreaterThan(after);
      expect(after).toBeGreaterThan(before);
      } finally {
        await writer.stop();
      }
      await rt.cdc!.drain(30_000);
      const [check] = await checkAll(config, suite.pool, [suite.pool]);
      expect(check!.match).toBe(true);
    });
  });

  it('the check while frozen compares every row changed since the last verification: one that differs fails the cut-over, thawed', async () => {
    const config = cutoverConfig('co_keys');
    await migrated(config, async (rt, src) => {
      await writeNow(src, 9, 'changed after the verification');
      await rt.cdc!.catchUp(30_000);
      // The change reached its target; then the target drifts from the source, where no capture sees it.
      let drifted = 0;
      for (const db of [0, 1])
        for (const t of [0, 1]) {
          const [r] = (await suite.pool.query(`UPDATE \`${config.target.databasePattern.replace('{db}', String(db))}\`.order_info_${t} SET remark = 'drifted' WHERE id = 9`)) as unknown as [{ affectedRows: number }];
          drifted += r.affectedRows;
        }
      expect(drifted).toBe(1);
      const err = await runCutover(rt.ctx, depsOf(rt)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CutoverFailedError);
      expect(String((err as Error).message)).toMatch(/rows differ after catch-up: order_info: 0 missing, 1 different, 0 extra/);
      await writeNow(src, 10, 'thawed');
    });
  });

  it('a catch-up past cutover.freezeTimeoutSeconds thaws the source and reports', async () => {
    const config = cutoverConfig('co_late', { freezeTimeoutSeconds: 1 });
    await migrated(config, async (rt, src) => {
      // Once frozen, the queue never drains (as if apply had stopped): catch-up cannot finish.
      const err = await runCutover(rt.ctx, depsOf(rt, { backlog: async () => ((await catchingUp(rt, config)) ? 1 : rt.cdc!.queue.backlog()) })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CutoverFailedError);
      expect(String((err as Error).message)).toMatch(/cut-over failed after the freeze, and the source was thawed: CDC has not caught up .* within 1 s/);
      expect(await rt.store.getCutover(config.migrationId)).toMatchObject({ status: 'FAILED' });
      // Writable again at once.
      await writeNow(src, 3, 'after the thaw');
    });
  });

  it.each(['lock', 'read-only'] as const)('a cut-over that hangs while frozen (%s): --abort thaws the source', async (freeze) => {
    const config = cutoverConfig(`co_abort_${freeze === 'lock' ? 'l' : 'r'}`, { freeze, freezeTimeoutSeconds: 600 });
    await migrated(config, async (rt, src) => {
      // The catch-up never gets its answer: the process is as good as dead, frozen.
      let stuck = false;
      const frozenFor: number[] = [];
      const hung = runCutover(rt.ctx, depsOf(rt, { frozenFor: (ms) => frozenFor.push(ms), backlog: async () => ((await catchingUp(rt, config)) ? ((stuck = true), new Promise<number>(() => undefined)) : rt.cdc!.queue.backlog()) }));
      hung.catch(() => undefined);
      await expect.poll(() => stuck, { timeout: 20_000 }).toBe(true);
      // While it hangs frozen, how long it has been frozen is told every 5 s (on AWS: the CutoverFreezeMs metric, so the alarm fires now).
      if (freeze === 'lock') await expect.poll(() => frozenFor[0] ?? 0, { timeout: 20_000 }).toBeGreaterThanOrEqual(4_900); // timers may fire a millisecond early by Date.now()
      expect(await rt.store.getCutover(config.migrationId)).toMatchObject({ status: 'CATCHING_UP', freeze });
      if (freeze === 'read-only') expect(await readOnly()).toBe(1);
      else {
        const conn = await suite.pool.getConnection();
        try {
          await conn.query('SET SESSION lock_wait_timeout = 1');
          await expect(conn.query(`UPDATE ${src} SET remark = 'frozen' WHERE id = 4`)).rejects.toThrow(/Lock wait timeout/);
        } finally {
          conn.release();
        }
      }
      const out = await abortCutover(rt.ctx);
      expect(out.thawed).toEqual([expect.stringMatching(freeze === 'lock' ? /lock session \d+ ended/ : /read-only off/)]);
      expect(await rt.store.getCutover(config.migrationId)).toMatchObject({ status: 'ABORTED' });
      expect(await readOnly()).toBe(0);
      await writeNow(src, 4, 'thawed');
    });
  });
});
