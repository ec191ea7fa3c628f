/**
 * The synthesized `prod` state machine (config/prod.json: Distributed Maps with MaxConcurrency 32,
 * tolerance 0), executed locally over a real MariaDB: a segment that keeps failing fails its child and the
 * execution; after the fix, the failed child is rerun as a console redrive does (from CopyBatch, its
 * input unchanged) and a new execution finishes the rest — copied, verified, complete.
 */
import { describe, expect, it } from 'vitest';
import { LocalRuntime } from '../../local/runtime.js';
import { machineOf, type Template } from '../../local/synth.js';
import { seedOrders } from '../../local/seed.js';
import { checkAll } from '../../local/checksum.js';
import { migrationStatus } from '../../lambdas/app/status.js';
import { TransientError } from '../../lambdas/core/errors.js';
import { States } from '../../lib/full-copy-state-machine.js';
import { synthEnvironment } from '../helpers/cdk.js';
import { integrationSuite } from '../helpers/suite.js';

const suite = integrationSuite({ databases: 2, tablesPerDb: 2, pageSize: 100, segments: 4, concurrency: 2, items: false });

describe('the synthesized prod state machine, locally', () => {
  it('fails on a failing segment, and a redrive of that child plus a rerun finish the migration', async () => {
    const { template } = await synthEnvironment('prod');
    const machine = machineOf(template.toJSON() as Template);
    const states = machine.definition.States as Record<string, unknown>;
    for (const name of [States.map, States.verifyMap]) expect(states[name]).toMatchObject({ MaxConcurrency: 32, ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED' } } });

    const config = suite.config('prodsm');
    await seedOrders(suite.pool, config.source.database!, { orders: 1500, itemsPerOrder: 0, seed: 17 });
    let broken = true;
    const hooks = {
      beforePage: (_t: string, segment: number) => {
        if (broken && segment === 1) throw new TransientError('injected: shard db_1 refuses connections');
      },
    };
    const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo, hooks, machine, retryIntervalMs: 10 });
    try {
      await expect(rt.execute().result).rejects.toThrow(/injected: shard db_1 refuses connections/);
      const failed = await migrationStatus(config, rt.store);
      expect(failed.tables[0]!.segments[1]).toMatchObject({ status: 'FAILED', retries: 7 });
      expect(failed.status).toBe('FAILED');

      broken = false;
      await rt.executeChild(States.map, { migrationId: config.migrationId, table: 'order_info', segment: 1 }).result;
      expect((await migrationStatus(config, rt.store)).tables[0]!.segments[1]).toMatchObject({ status: 'DONE' });
      const out = (await rt.execute().result) as { tables: { complete: boolean }[] };
      expect(out.tables).toEqual([expect.objectContaining({ complete: true })]);
      const view = await migrationStatus(config, rt.store);
      expect(view.tables[0]).toMatchObject({ status: 'DONE', complete: true, rowsCopied: 1500, verifiedRows: 1500 });
      const [check] = await checkAll(config, suite.pool, [suite.pool]);
      expect(check!.match).toBe(true);
    } finally {
      await rt.close();
    }
  });
});
