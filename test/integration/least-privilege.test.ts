/**
 * The database privileges docs/operations.md documents, and no more: a source user with SELECT on the source
 * database plus REPLICATION SLAVE and REPLICATION CLIENT, and a target user with CREATE, SELECT, INSERT,
 * UPDATE, DELETE and CREATE TEMPORARY TABLES on the target databases. Plan, copy (LOAD DATA LOCAL and its
 * guarded merge), CDC and verification with repair all run as these users. Their passwords appear in no log
 * line, status, state item, report or error.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { LocalRuntime } from '../../local/runtime.js';
import { seedOrders } from '../../local/seed.js';
import { checkAll } from '../../local/checksum.js';
import { verifyTable } from '../../lambdas/app/verify.js';
import { parseConfig } from '../../lambdas/core/config.js';
import { integrationSuite } from '../helpers/suite.js';
import { ListTablesCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { logger } from '../../lambdas/handlers/common.js';
import { migrationStatus } from '../../lambdas/app/status.js';
import { gatherReport } from '../../lambdas/app/report.js';
import { renderReport } from '../../local/report-html.js';
import { createPool, ping } from '../../lambdas/adapters/mysql/pool.js';
import { vi } from 'vitest';

const suite = integrationSuite({ databases: 2, tablesPerDb: 2, segments: 2, concurrency: 2, pageSize: 300, items: false });
const users: string[] = [];

afterAll(async () => {
  for (const u of users) await suite.pool.query(`DROP USER IF EXISTS ${u}`);
});

describe('least privilege', () => {
  it('plan, copy, CDC and verify with repair run with the documented grants only', async () => {
    const base = suite.config('grants');
    const src = base.source.database!;
    const targetLike = base.target.databasePattern.replace('{db}', '%').replaceAll('_', '\\_');
    const suffix = Math.random().toString(36).slice(2, 8);
    const sourceUser = `'rs_src_${suffix}'@'%'`;
    const targetUser = `'rs_tgt_${suffix}'@'%'`;
    users.push(sourceUser, targetUser);
    const srcPassword = `Src-Pw-${suffix}-x7Q`;
    const tgtPassword = `Tgt-Pw-${suffix}-k9Z`;
    await suite.pool.query(`CREATE USER ${sourceUser} IDENTIFIED BY '${srcPassword}'`);
    await suite.pool.query(`GRANT SELECT ON \`${src}\`.* TO ${sourceUser}`);
    await suite.pool.query(`GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO ${sourceUser}`);
    await suite.pool.query(`CREATE USER ${targetUser} IDENTIFIED BY '${tgtPassword}'`);
    await suite.pool.query(`GRANT CREATE, SELECT, INSERT, UPDATE, DELETE, CREATE TEMPORARY TABLES ON \`${targetLike}\`.* TO ${targetUser}`);

    await seedOrders(suite.pool, src, { orders: 3000, itemsPerOrder: 0, seed: 51 });
    const config = parseConfig({
      ...base,
      source: { ...base.source, user: `rs_src_${suffix}`, password: srcPassword },
      target: { ...base.target, connection: { ...base.target.connection, user: `rs_tgt_${suffix}`, password: tgtPassword } },
      cdc: { enabled: true, serverId: 30_000 + Math.floor(Math.random() * 100_000) },
      verify: { ...base.verify, repair: true },
    });
    // Everything written to stdout and stderr meanwhile, with every log line on.
    let output = '';
    const tap = (stream: NodeJS.WriteStream) =>
      vi.spyOn(stream, 'write').mockImplementation(((chunk: unknown) => {
        output += String(chunk);
        return true;
      }));
    const taps = [tap(process.stdout), tap(process.stderr)];
    logger.setLogLevel('DEBUG');
    const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo, retryIntervalMs: 100 });
    try {
      rt.cdc!.start();
      const copy = rt.execute().result;
      // Changes while the copy runs, captured and applied as the CDC users.
      const table = `\`${src}\`.order_info`;
      await suite.pool.query(`UPDATE ${table} SET remark = 'changed under least privilege', update_time = NOW(6) WHERE id % 7 = 0`);
      await suite.pool.query(`DELETE FROM ${table} WHERE id % 11 = 0`);
      await copy;
      const lag = await rt.cdc!.drain(120_000);
      expect(lag).toMatchObject({ backlog: 0, dead: 0, caughtUp: true });

      // A difference only verification can find, repaired as the target user.
      await suite.pool.query(`DELETE FROM \`${config.target.databasePattern.replace('{db}', '0')}\`.order_info_0 LIMIT 3`);
      const summary = await verifyTable(rt.ctx, 'order_info', { repair: true });
      expect(summary.missing).toBe(3);
      expect(summary.repaired).toBe(3);
      for (const c of await checkAll(config, suite.pool, [suite.pool])) {
        expect(c.match, `${c.table} equals its source after repair`).toBe(true);
        expect(c.targetRows).toBe(c.sourceRows);
      }

      // No password anywhere a user or operator reads: logs, status, state items, the report, errors.
      const status = JSON.stringify(await migrationStatus(config, rt.store));
      const report = renderReport(await gatherReport(rt.ctx, [summary]));
      const { TableNames = [] } = await suite.dynamo.client.send(new ListTablesCommand({}));
      const items = (await Promise.all(TableNames.map((t) => suite.dynamo.client.send(new ScanCommand({ TableName: t }))))).flatMap((r) => r.Items ?? []);
      const wrong = createPool({ ...config.source, password: `${srcPassword}-wrong` });
      const refused = await ping(wrong, 'source').then(
        () => 'connected',
        (e: unknown) => String((e as Error).message),
      );
      await wrong.end();
      expect(output).toMatch(/"level":"(DEBUG|INFO)"/); // the logs were on
      expect(items.length).toBeGreaterThan(10);
      expect(refused).toMatch(/ER_ACCESS_DENIED_ERROR/);
      for (const [where, text] of Object.entries({ output, status, report, items: JSON.stringify(items), refused }))
        for (const pw of [srcPassword, tgtPassword]) expect(text.includes(pw), `${where} holds a password`).toBe(false);
    } finally {
      logger.setLogLevel('SILENT');
      for (const t of taps) t.mockRestore();
      await rt.close();
    }
  });
});
