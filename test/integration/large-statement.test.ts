/**
 * One UPDATE of 200,000 rows, captured with a budget far too small to read and send it in one run (sends are
 * slowed down): runs stop inside the statement at their deadline and checkpoint how many of its events they
 * sent; each next run reads the statement again, skips those, and goes on. Every event is sent exactly once
 * and the targets end equal to the source.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from 'mysql2/promise';
import { LocalRuntime } from '../../local/runtime.js';
import { detectDialect, gtidAt } from '../../lambdas/adapters/binlog/server.js';
import { captureRun, sourceBinlogReader } from '../../lambdas/app/capture.js';
import { ChangeQueue } from '../../lambdas/adapters/sqs.js';
import type { OutgoingMessage } from '../../lambdas/core/events/model.js';
import { checkAll } from '../../local/checksum.js';
import { parseConfig, type MigrationConfig } from '../../lambdas/core/config.js';
import { dropPrefixed, rootPool, testConfig, uniquePrefix } from '../helpers/db.js';
import { coversAll, parseGtidPosition } from '../../lambdas/core/gtid.js';

const ROWS = 200_000;
const prefix = uniquePrefix('bigstmt');
let pool: Pool;
let config: MigrationConfig;

beforeAll(async () => {
  pool = rootPool();
  config = parseConfig({
    ...testConfig(prefix, { databases: 2, tablesPerDb: 2, pageSize: 20_000, segments: 2, concurrency: 2, items: false }),
    cdc: { enabled: true, serverId: 50_000 + Math.floor(Math.random() * 100_000), applyConcurrency: 4 },
    verify: { enabled: false },
  });
  const src = `\`${config.source.database!}\``;
  await pool.query(`CREATE DATABASE ${src}`);
  await pool.query(
    `CREATE TABLE ${src}.order_info (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, order_no VARCHAR(32) NULL, user_id BIGINT NULL, status TINYINT NOT NULL DEFAULT 0, amount DECIMAL(12,2) NOT NULL, remark VARCHAR(64) NULL, create_time DATETIME(3) NOT NULL, update_time DATETIME(6) NOT NULL) ENGINE=InnoDB`,
  );
  await pool.query(
    `INSERT INTO ${src}.order_info SELECT seq, CONCAT('2026120600', LPAD(seq, 8, '0')), seq % 100000, 0, seq / 100, NULL, '2026-12-06 00:00:00', '2026-12-06 00:00:00' FROM ${src}.seq_1_to_${ROWS}`,
  );
});

afterAll(async () => {
  await dropPrefixed(pool, prefix);
  await pool.end();
});

describe('a statement larger than one capture run', () => {
  it(`an UPDATE of ${ROWS.toLocaleString('en-US')} rows is read across runs that checkpoint inside it, and applied in full`, async () => {
    const rt = await LocalRuntime.start({ config, retryIntervalMs: 100 });
    try {
      await rt.execute().result;
      await pool.query(`UPDATE \`${config.source.database!}\`.order_info SET remark = 'bulk', status = 1, update_time = NOW(6)`);

      // SQS answers slowly: sending the statement's events takes many times the budget.
      const slow = new (class extends ChangeQueue {
        override async send(messages: readonly OutgoingMessage[]): Promise<void> {
          await new Promise((r) => setTimeout(r, 150));
          await super.send(messages);
        }
      })(rt.cdc!.queues.sqs, rt.cdc!.queues.queueUrl);
      rt.cdc!.poller.start();
      const read = sourceBinlogReader(config);
      const runs: { events: number; skip: number }[] = [];
      const dialect = await detectDialect(pool);
      for (let i = 0; i < 200; i++) {
        const run = await captureRun(rt.ctx, { queue: slow, read }, { owner: `run-${i}`, budgetMs: 5000, idleMs: 300, sendEvents: 2000, batchSize: 2000 });
        const state = await rt.store.getCapture(config.migrationId);
        runs.push({ events: run.events, skip: state?.skip ?? 0 });
        // The GTID position kept beside a checkpoint inside the statement is the one before its transaction.
        // A checkpoint after a statement's last rows event but before its commit (a run that stopped between
        // them) lies inside the group: the server counts the group there, the kept position does not yet —
        // behind by that one group, never ahead (a resume by GTID reads the group again).
        expect(state?.gtid).toMatch(/^\d+-\d+-\d+$/);
        const server = await gtidAt(pool, dialect, state!.position);
        const where = `run ${i} at ${JSON.stringify(state!.position)} (skip ${state!.skip ?? 0}): kept ${state!.gtid}, server ${server}`;
        if ((state!.skip ?? 0) > 0) expect(state!.gtid, where).toBe(server);
        else {
          const kept = parseGtidPosition(state!.gtid!)!;
          const there = parseGtidPosition(server!)!;
          expect(coversAll(there, kept), where).toBe(true);
          for (const [domain, g] of there) expect(g.seq - (kept.get(domain)?.seq ?? g.seq), where).toBeLessThanOrEqual(1);
        }
        if (run.caughtUp) break;
      }
      // Several runs ended inside the statement, each further than the one before.
      const inside = runs.filter((r) => r.skip > 0);
      expect(inside.length).toBeGreaterThanOrEqual(2);
      for (let i = 1; i < inside.length; i++) expect(inside[i]!.skip).toBeGreaterThan(inside[i - 1]!.skip);
      // Every event of the statement was sent once: the runs' counts add up to the rows changed.
      expect(runs.reduce((a, r) => a + r.events, 0)).toBe(ROWS);
      expect(runs.at(-1)!.skip).toBe(0);

      const deadline = Date.now() + 120_000;
      for (;;) {
        const d = await rt.cdc!.queue.depth();
        if (d.visible + d.inFlight === 0) break;
        if (Date.now() > deadline) throw new Error(`apply did not finish: ${JSON.stringify(d)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect((await rt.cdc!.dlq.depth()).visible).toBe(0);
      const [check] = await checkAll(config, pool, [pool]);
      expect(check!.targets.filter((t) => !t.match)).toEqual([]);
      expect(check!.targetRows).toBe(ROWS);
    } finally {
      await rt.cdc!.poller.stop();
      await rt.close();
    }
  });
});
