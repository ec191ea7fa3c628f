/**
 * Database passwords rotated while CDC runs (local runtime, real MariaDB): the source and target users'
 * passwords change, and later the source login moves to a second user (rotation that alternates between
 * two users, its secret naming the user). Connections already open are killed, so every pool and the binlog
 * connection must log in again with what the secrets (here: the environment) hold now. Nothing reaches the
 * DLQ, and the targets end equal to the source.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { LocalRuntime } from '../../local/runtime.js';
import { seedOrders } from '../../local/seed.js';
import { checkAll } from '../../local/checksum.js';
import { parseConfig } from '../../lambdas/core/config.js';
import { integrationSuite } from '../helpers/suite.js';

const suite = integrationSuite({ databases: 2, tablesPerDb: 2, segments: 2, concurrency: 2, pageSize: 300, items: false });
const users: string[] = [];
const SRC_ENV = 'RESHARD_ROTATION_SRC_PW';
const TGT_ENV = 'RESHARD_ROTATION_TGT_PW';

afterAll(async () => {
  for (const u of users) await suite.pool.query(`DROP USER IF EXISTS ${u}`);
  for (const v of [SRC_ENV, TGT_ENV, `${SRC_ENV}_USERNAME`]) delete process.env[v];
});

describe('password rotation while CDC runs', () => {
  it('pools and capture log in again with the rotated passwords, and with the second user; no change message is lost', async () => {
    const base = suite.config('rotation');
    const src = base.source.database!;
    const targetLike = base.target.databasePattern.replace('{db}', '%').replaceAll('_', '\\_');
    const suffix = Math.random().toString(36).slice(2, 8);
    const [srcA, srcB, tgt] = [`rot_a_${suffix}`, `rot_b_${suffix}`, `rot_t_${suffix}`];
    const grantSource = async (user: string, pw: string) => {
      users.push(`'${user}'@'%'`);
      await suite.pool.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${pw}'`);
      await suite.pool.query(`GRANT SELECT ON \`${src}\`.* TO '${user}'@'%'`);
      await suite.pool.query(`GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '${user}'@'%'`);
    };
    await grantSource(srcA, 'first-src');
    users.push(`'${tgt}'@'%'`);
    await suite.pool.query(`CREATE USER '${tgt}'@'%' IDENTIFIED BY 'first-tgt'`);
    await suite.pool.query(`GRANT CREATE, SELECT, INSERT, UPDATE, DELETE, CREATE TEMPORARY TABLES ON \`${targetLike}\`.* TO '${tgt}'@'%'`);
    process.env[SRC_ENV] = 'first-src';
    process.env[TGT_ENV] = 'first-tgt';

    await seedOrders(suite.pool, src, { orders: 2000, itemsPerOrder: 0, seed: 61 });
    const config = parseConfig({
      ...base,
      source: { ...base.source, user: srcA, password: undefined, passwordEnv: SRC_ENV },
      target: { ...base.target, connection: { ...base.target.connection, user: tgt, password: undefined, passwordEnv: TGT_ENV } },
      cdc: { enabled: true, serverId: 40_000 + Math.floor(Math.random() * 100_000), applyConcurrency: 2 },
    });
    const table = `\`${src}\`.order_info`;
    /** Ends every session of these users: the pools and capture must log in again. */
    const killSessions = async (...names: string[]) => {
      const [rows] = (await suite.pool.query(`SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER IN (?)`, [names])) as unknown as [{ id: number }[]];
      for (const r of rows) await suite.pool.query(`KILL CONNECTION ${Number(r.id)}`).catch(() => undefined);
    };
    const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo, retryIntervalMs: 100 });
    try {
      rt.cdc!.start();
      await rt.execute().result;
      await suite.pool.query(`UPDATE ${table} SET remark = 'before rotation', update_time = NOW(6) WHERE id % 5 = 0`);
      await rt.cdc!.drain(60_000);

      // The secrets rotate: new passwords for both users, the old ones refused from now on.
      await suite.pool.query(`ALTER USER '${srcA}'@'%' IDENTIFIED BY 'second-src'`);
      await suite.pool.query(`ALTER USER '${tgt}'@'%' IDENTIFIED BY 'second-tgt'`);
      process.env[SRC_ENV] = 'second-src';
      process.env[TGT_ENV] = 'second-tgt';
      await killSessions(srcA, tgt);
      await suite.pool.query(`UPDATE ${table} SET remark = 'after rotation', update_time = NOW(6) WHERE id % 3 = 0`);
      await suite.pool.query(`DELETE FROM ${table} WHERE id % 13 = 0`);
      await rt.cdc!.drain(60_000);

      // Rotation that alternates users: the secret now names the second user, the first one is gone.
      await grantSource(srcB, 'third-src');
      process.env[`${SRC_ENV}_USERNAME`] = srcB;
      process.env[SRC_ENV] = 'third-src';
      await suite.pool.query(`DROP USER '${srcA}'@'%'`);
      await killSessions(srcA);
      await suite.pool.query(`UPDATE ${table} SET remark = 'second user', update_time = NOW(6) WHERE id % 4 = 0`);
      const lag = await rt.cdc!.drain(60_000);
      expect(lag).toMatchObject({ backlog: 0, dead: 0, caughtUp: true });

      const [[sessions]] = (await suite.pool.query(`SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?`, [srcB])) as unknown as [[{ n: number }]];
      expect(Number(sessions.n)).toBeGreaterThan(0); // capture reads the binlog as the second user
      for (const c of await checkAll(config, suite.pool, [suite.pool])) {
        expect(c.match, `${c.table} equals its source`).toBe(true);
        expect(c.targetRows).toBe(c.sourceRows);
      }
    } finally {
      await rt.close();
    }
  });
});
