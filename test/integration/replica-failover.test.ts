/**
 * A real failover: the source's changes replicate (MariaDB GTID replication, `log_slave_updates`) to a replica
 * whose binlog files and offsets are its own; capture stops on the old primary, the replica is promoted and
 * takes writes, and the source endpoint now reaches it. Capture refuses to read it at the old offset, and
 * `capture-source accept --gtid` finds in the replica's binlog where the changes capture had not read begin:
 * the targets end equal to the new primary's table, the changes made just before and just after the
 * failover included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { LocalRuntime } from '../../local/runtime.js';
import { seedOrders } from '../../local/seed.js';
import { checkAll } from '../../local/checksum.js';
import { parseConfig, type MigrationConfig } from '../../lambdas/core/config.js';
import { SourceChangedError } from '../../lambdas/core/errors.js';
import { acceptSource } from '../../lambdas/app/capture-source.js';
import { comparePositions } from '../../lambdas/core/position.js';
import { integrationSuite } from '../helpers/suite.js';
import { ownMariaDb } from '../helpers/db.js';

const suite = integrationSuite({ databases: 2, tablesPerDb: 2, segments: 2, concurrency: 2, items: false });
const primary = ownMariaDb('failover-primary', 1007);
const replica = ownMariaDb('failover-replica', 1008, { args: () => ['--server-id=2', '--log-slave-updates=ON'] });

/** Waits until the replica has applied everything the primary's binlog holds now. */
async function replicated(from: Pool, to: Pool): Promise<void> {
  const [[{ g }]] = (await from.query('SELECT @@GLOBAL.gtid_binlog_pos AS g')) as unknown as [[{ g: string }]];
  const [[{ r }]] = (await to.query('SELECT MASTER_GTID_WAIT(?, 60) AS r', [g])) as unknown as [[{ r: number }]];
  if (Number(r) !== 0) throw new Error(`the replica did not reach ${g} within 60 s`);
}

describe('failover to a replica', () => {
  let config: MigrationConfig;
  let src: string;
  const touch = (pool: Pool, ids: readonly number[], remark: string) => pool.query(`UPDATE ${src} SET remark = ? WHERE id IN (?)`, [remark, ids]);

  beforeAll(async () => {
    const base = suite.config('replica_failover', { port: primary.port });
    config = parseConfig({ ...base, cdc: { enabled: true, serverId: 90_000 + Math.floor(Math.random() * 100_000), applyConcurrency: 2 } });
    src = `\`${config.source.database!}\`.order_info`;
    // Replicas rotate their binlogs on their own: the replica's events land in another file than the primary's.
    await replica.pool().query('FLUSH BINARY LOGS');
    await replica.pool().query(
      `CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = ${primary.port}, MASTER_USER = 'root', MASTER_PASSWORD = '', MASTER_USE_GTID = slave_pos`,
    );
    await replica.pool().query('START SLAVE');
    await seedOrders(primary.pool(), config.source.database!, { orders: 300, itemsPerOrder: 0, seed: 29 });
  });

  let rt: LocalRuntime | undefined;
  afterAll(async () => {
    await rt?.close();
  });

  it('goes on from the GTID position in the promoted replica, losing and repeating nothing', async () => {
    // The source is the primary; the targets live there too (they stay where they are across the failover).
    rt = await LocalRuntime.start({ config, dynamo: suite.dynamo });
    rt.cdc!.start();
    await rt.execute().result;
    await touch(primary.pool(), [1, 2, 3], 'read by capture on the primary');
    await rt.cdc!.catchUp(60_000);
    const held = (await rt.store.getCapture(config.migrationId))!;
    expect(held).toMatchObject({ sourceId: 'server_id=1', gtid: expect.stringMatching(/^0-1-\d+$/) as unknown });

    // Capture stops; more changes reach the primary and, through replication, the replica; then the replica
    // is promoted and takes writes of its own.
    await rt.close();
    rt = undefined;
    await touch(primary.pool(), [4, 5], 'made on the primary just before the failover');
    await replicated(primary.pool(), replica.pool());
    await replica.pool().query('STOP SLAVE');
    await replica.pool().query('RESET SLAVE ALL');
    await touch(replica.pool(), [6, 7], 'made on the new primary');
    const [[{ g: replicaGtid }]] = (await replica.pool().query('SELECT @@GLOBAL.gtid_binlog_pos AS g')) as unknown as [[{ g: string }]];
    expect(replicaGtid).toMatch(/^0-2-\d+$/);

    // The source endpoint now reaches the replica.
    const moved = parseConfig({ ...config, source: { ...config.source, port: replica.port } });
    rt = await LocalRuntime.start({ config: moved, dynamo: suite.dynamo });
    rt.cdc!.start();
    const err = await rt.cdc!.catchUp(30_000).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(SourceChangedError);
    expect((err as Error).message).toContain(`that position is in the binlog of server_id=1, but 127.0.0.1:${replica.port} now reaches server_id=2`);
    // Where capture stopped: the GTID position it keeps (the targets' own writes on the primary moved it on after `held`).
    const stopped = (await rt.store.getCapture(config.migrationId))!;
    expect(stopped.sourceChanged).toMatchObject({ was: 'server_id=1', now: 'server_id=2', gtid: stopped.gtid });
    expect((err as Error).message).toContain(`Its GTID position is ${stopped.gtid!}.`);

    const out = await acceptSource(rt.ctx, { server: 0, at: { gtid: true }, owner: 'replica-failover-test' });
    expect(out).toMatchObject({ was: 'server_id=1', now: 'server_id=2', gtid: stopped.gtid });
    // The replica's binlog has offsets of its own: the position found is where the first group capture had not read begins there.
    const [events] = await replica.pool().query<RowDataPacket[]>('SHOW BINLOG EVENTS IN ? FROM ? LIMIT 1', [out.position.file, out.position.position]);
    expect(events[0]).toMatchObject({ Event_type: 'Gtid', Info: expect.stringMatching(new RegExp(`GTID 0-1-${BigInt(stopped.gtid!.split('-')[2]!) + 1n}$`)) as unknown });
    expect(comparePositions(out.position, stopped.position)).not.toBe(0);

    await rt.cdc!.catchUp(60_000);
    const [check] = await checkAll(moved, replica.pool(), [primary.pool()]);
    expect(check!.match).toBe(true);
    expect((await rt.store.getCapture(config.migrationId))!.gtid).toBe(replicaGtid);
  });
});
