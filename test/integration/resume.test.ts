/**
 * Invariant 2 (resumable at any instant) and fencing: kill the copy at seeded points — inside a page
 * write, between write and checkpoint, before/after the checkpoint reaches DynamoDB — and rerun until
 * done; the target ends identical to the source and at most one page per segment is redone per kill.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from 'mysql2/promise';
import { LocalRuntime } from '../../local/runtime.js';
import { startDynamo, type LocalDynamo } from '../../local/emulators.js';
import { rng, seedOrders } from '../../local/seed.js';
import { checkAll } from '../../local/checksum.js';
import { migrationStatus } from '../../lambdas/app/status.js';
import { dropPrefixed, rootPool, testConfig, uniquePrefix } from '../helpers/db.js';
import { DoomedProcess, KILL_POINTS } from '../helpers/crash.js';

describe('crash resume at seeded kill points', () => {
  const prefix = uniquePrefix('resume');
  const config = testConfig(prefix, { databases: 4, tablesPerDb: 4, pageSize: 60, segments: 3, concurrency: 2, leaseSeconds: 1, items: false });
  let pool: Pool;
  let dynamo: LocalDynamo;
  const zombies: LocalRuntime[] = [];

  beforeAll(async () => {
    pool = rootPool();
    await seedOrders(pool, config.source.database!, { orders: 6000, itemsPerOrder: 0, seed: 11 });
    dynamo = await startDynamo();
  });
  afterAll(async () => {
    for (const z of zombies) await z.close();
    await dynamo?.close();
    await dropPrefixed(pool, prefix);
    await pool.end();
  });

  it('reaches an identical target after 20+ kills, redoing at most one page per segment per kill', async () => {
    const rand = rng(20261122);
    const started = new Map<string, number>(); // page (segment@cursor) → times started
    let kills = 0;
    let redoneTotal = 0;
    const byPoint = new Map<string, number>();
    for (let run = 0; run < 60 && kills < 24; run++) {
      const point = KILL_POINTS[Math.floor(rand() * KILL_POINTS.length)]!;
      const n = point === 'midPageWrite' ? 1 + Math.floor(rand() * 30) : 1 + Math.floor(rand() * 3);
      const redone = new Map<number, number>();
      const proc = new DoomedProcess(point, n, {
        beforePage: (_t, segment, cursor) => {
          const page = `${segment}@${cursor}`;
          const times = (started.get(page) ?? 0) + 1;
          started.set(page, times);
          if (times > 1) redone.set(segment, (redone.get(segment) ?? 0) + 1);
        },
      });
      const rt = await LocalRuntime.start({ config, dynamo, hooks: proc.hooks, onDocumentClient: proc.onDocumentClient, retryIntervalMs: 100 });
      zombies.push(rt);
      const exec = rt.execute();
      proc.abort = exec.abort;
      const outcome = await exec.result.then(
        () => 'done',
        (err: Error) => (proc.dead ? 'killed' : `failed: ${err.message}`),
      );
      // Redone pages are those this run started again after an earlier kill: at most one per segment.
      for (const count of redone.values()) redoneTotal += count;
      for (const [segment, count] of redone) expect(count, `segment ${segment} redid ${count} pages in run ${run}`).toBeLessThanOrEqual(1);
      if (outcome === 'killed') {
        kills++;
        byPoint.set(point, (byPoint.get(point) ?? 0) + 1);
        continue;
      }
      expect(outcome).toBe('done');
      break;
    }
    expect(kills).toBeGreaterThanOrEqual(20);
    expect(byPoint.size).toBeGreaterThanOrEqual(4);
    // Kills inside a page write or before its checkpoint must make the next run redo that page: the counter sees them.
    expect(redoneTotal).toBeGreaterThan(0);

    // A clean rerun finishes whatever is left.
    const final = await LocalRuntime.start({ config, dynamo, retryIntervalMs: 100 });
    zombies.push(final);
    await final.execute().result;
    const view = await migrationStatus(config, final.store);
    expect(view.status).toBe('DONE');
    expect(view.tables[0]!.rowsCopied).toBeGreaterThanOrEqual(6000);

    const [check] = await checkAll(config, pool, [pool]);
    expect(check!.sourceRows).toBe(6000);
    expect(check!.targets.filter((t) => !t.match)).toEqual([]);
  });
});
