/**
 * A seeded slice of the chaos suite inside `npm test`: a copy with CDC under live writes while AWS API calls
 * (DynamoDB, SQS) fail and server sessions are killed at seeded moments; afterwards no row is lost, extra or
 * different by an independent comparison in SQL. `npm run chaos` runs the long scenario.
 */
import { describe, expect, it } from 'vitest';
import { ownMariaDb } from '../helpers/db.js';
import { parseConfig } from '../../lambdas/core/config.js';
import { seedOrders } from '../../local/seed.js';
import { runChaos } from '../../local/chaos.js';
import { integrationSuite } from '../helpers/suite.js';

const suite = integrationSuite({ databases: 2, tablesPerDb: 2, segments: 4, concurrency: 2, pageSize: 200 });

// A MariaDB of its own: the chaos kills random sessions of the server it runs on, which on the shared test
// server would include other test files' sessions.
const { port, pool: admin } = ownMariaDb('chaos', 1004);

describe('chaos (seeded slice)', () => {
  it('loses, adds and changes no row under injected AWS errors and killed sessions', { timeout: 300_000 }, async () => {
    const base = suite.config('chaos', { port });
    const config = parseConfig({ ...base, cdc: { enabled: true, serverId: 80_000 + Math.floor(Math.random() * 100_000), applyConcurrency: 2 }, verify: { ...base.verify, repair: true } });
    await seedOrders(admin(), config.source.database!, { orders: 3000, itemsPerOrder: 2, seed: 17 });
    const r = await runChaos({ config, admin: admin(), orders: 3000, seed: 17, faults: 16, awsFaultRate: 0.05, killEveryMs: 300, dynamo: suite.dynamo });
    expect(r.faultsInjected).toBeGreaterThanOrEqual(8);
    expect(r.byKind['kill-connection']).toBeGreaterThan(0);
    expect(r.byKind['dynamodb-throttle'] + r.byKind['dynamodb-500'] + r.byKind['dynamodb-500-after'] + r.byKind['sqs-throttle'] + r.byKind['sqs-500'] + r.byKind['sqs-500-after']).toBeGreaterThan(0);
    expect(r.writes).toBeGreaterThan(0);
    expect({ lost: r.rowsLost, extra: r.rowsExtra, different: r.rowsDifferent }).toEqual({ lost: 0, extra: 0, different: 0 });
  });

  it('loses, adds and changes no row when the runtime is killed with SIGKILL mid-copy, mid-apply, mid-verify and mid-finalize', { timeout: 300_000 }, async () => {
    const base = suite.config('chaos_kill', { port });
    const config = parseConfig({ ...base, cdc: { enabled: true, serverId: 80_000 + Math.floor(Math.random() * 100_000), applyConcurrency: 2 }, verify: { ...base.verify, repair: true } });
    await seedOrders(admin(), config.source.database!, { orders: 3000, itemsPerOrder: 2, seed: 19 });
    const r = await runChaos({ config, admin: admin(), orders: 3000, seed: 19, faults: 12, awsFaultRate: 0.02, killEveryMs: 600, kills: 4 });
    // Each kill waits for its phase; once an execution succeeds, no more kills (a small run may pass verify and finalize first).
    expect(r.killedIn?.slice(0, 2)).toEqual(['copy', 'apply']);
    expect(r.byKind.sigkill).toBe(r.killedIn?.length);
    expect(r.writes).toBeGreaterThan(0);
    expect({ lost: r.rowsLost, extra: r.rowsExtra, different: r.rowsDifferent }).toEqual({ lost: 0, extra: 0, different: 0 });
  });
});
