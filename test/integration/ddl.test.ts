/**
 * Schema changes on the source while CDC runs, end to end (binlog → FIFO → apply, local runtime): ADD COLUMN,
 * DROP COLUMN, TRUNCATE and online schema changes (gh-ost and pt-osc swaps of a ghost table) under `cdc.onDdl` stop, exec and ignore. Each
 * ends with the targets equal to the source over every column the source has then (independent checksums)
 * and verification CLEAN, or with capture PAUSED before the statement and nothing after it applied.
 */
import { describe, expect, it } from 'vitest';
import { LocalRuntime } from '../../local/runtime.js';
import { seedOrders } from '../../local/seed.js';
import { checkAll } from '../../local/checksum.js';
import { parseConfig, type MigrationConfig } from '../../lambdas/core/config.js';
import { resolveDdl } from '../../lambdas/app/ddl.js';
import { migrationStatus } from '../../lambdas/app/status.js';
import { verifyTable } from '../../lambdas/app/verify.js';
import { CapturePausedError, ConfigError } from '../../lambdas/core/errors.js';
import type { CaptureState } from '../../lambdas/core/model.js';
import { integrationSuite } from '../helpers/suite.js';

const suite = integrationSuite({ databases: 2, tablesPerDb: 2, segments: 2, concurrency: 2, items: false });

function ddlConfig(name: string, onDdl: 'stop' | 'exec' | 'ignore'): MigrationConfig {
  const base = suite.config(name);
  return parseConfig({ ...base, cdc: { enabled: true, serverId: 8000 + Math.floor(Math.random() * 100_000), applyConcurrency: 2, onDdl } });
}

/** Copies 1,000 orders with CDC on, runs `fn` while CDC keeps going, then stops the runtime. */
async function withCopiedCdc(config: MigrationConfig, fn: (rt: LocalRuntime, src: string) => Promise<void>): Promise<void> {
  await seedOrders(suite.pool, config.source.database!, { orders: 1000, itemsPerOrder: 0, seed: 7 });
  const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo, retryIntervalMs: 100 });
  try {
    rt.cdc!.start();
    await rt.execute().result;
    await fn(rt, `\`${config.source.database!}\`.order_info`);
  } finally {
    await rt.close();
  }
}

async function pausedCapture(rt: LocalRuntime, timeoutMs = 30_000): Promise<NonNullable<CaptureState['paused']>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await rt.store.getCapture(rt.config.migrationId);
    if (state?.paused) return state.paused;
    if (Date.now() > deadline) throw new Error(`capture did not stop before a DDL within ${timeoutMs} ms (at ${JSON.stringify(state?.position)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Targets equal the source (every column it has now), and verification is CLEAN. */
async function expectConverged(rt: LocalRuntime): Promise<void> {
  await rt.cdc!.drain(60_000);
  for (const c of await checkAll(rt.config, suite.pool, [suite.pool])) {
    expect(c.targets.filter((t) => !t.match), `${c.table}: targets that differ from the source`).toEqual([]);
    expect(c.targetRows).toBe(c.sourceRows);
  }
  const v = await verifyTable(rt.ctx, 'order_info', { repair: false, settle: () => rt.cdc!.catchUp(60_000) });
  expect(v.clean, JSON.stringify(v.dirty.slice(0, 5))).toBe(true);
}

const targetRows = async (rt: LocalRuntime, where: string) => {
  let n = 0;
  for (let db = 0; db < 2; db++)
    for (let t = 0; t < 2; t++) {
      const [[r]] = (await suite.pool.query(`SELECT COUNT(*) AS n FROM \`${rt.config.target.databasePattern.replace('{db}', String(db))}\`.order_info_${t} WHERE ${where}`)) as unknown as [[{ n: number }]];
      n += Number(r.n);
    }
  return n;
};

describe('DDL during CDC, cdc.onDdl stop', () => {
  it('ADD COLUMN: capture stops before it, status says PAUSED and what to do, nothing after it is applied; `ddl apply` runs it on the targets and the new column flows', async () => {
    const config = ddlConfig('ddl_add', 'stop');
    await withCopiedCdc(config, async (rt, src) => {
      await suite.pool.query(`UPDATE ${src} SET remark = 'before' WHERE id <= 10`);
      await suite.pool.query(`ALTER TABLE ${src} ADD COLUMN note VARCHAR(20) NULL AFTER status`);
      await suite.pool.query(`UPDATE ${src} SET note = 'after', remark = 'after' WHERE id BETWEEN 11 AND 20`);
      await suite.pool.query(`INSERT INTO ${src} (id, order_no, user_id, status, note, amount, buyer_name, create_time, update_time) VALUES (5000, '202612060000005000', 42, 1, 'new row', 9.5, 'Ada', NOW(3), NOW(6))`);

      const paused = await pausedCapture(rt);
      expect(paused).toMatchObject({ kind: 'alter', changesColumns: true, reason: 'cdc.onDdl is stop', tables: [{ physical: `${config.source.database!}.order_info`, table: 'order_info' }] });
      expect(paused.statement).toMatch(/ADD COLUMN note/);
      const view = await migrationStatus(config, rt.store);
      expect(view.status).toBe('PAUSED');
      expect(view.tables[0]).toMatchObject({ status: 'PAUSED', paused: { server: 0, at: `${paused.at.file}:${paused.at.position}`, statement: paused.statement } });
      expect(view.tables[0]!.paused!.todo).toMatch(/^reshard ddl apply/);
      // Waiting for CDC now says why it cannot catch up, instead of timing out.
      await expect(rt.cdc!.catchUp(5000)).rejects.toThrow(CapturePausedError);

      // Before the DDL: applied. After it: not yet.
      await expect.poll(() => targetRows(rt, `remark = 'before'`), { timeout: 20_000 }).toBe(10);
      expect(await targetRows(rt, `remark = 'after' OR id = 5000`)).toBe(0);
      // A skip without --force would leave the targets without the column: refused.
      await expect(resolveDdl(rt.ctx, rt.cdc!.queue, { server: 0, action: 'skip', owner: 'test' })).rejects.toThrow(/changes columns or rows: skipping it leaves the targets without the change/);

      const out = await resolveDdl(rt.ctx, rt.cdc!.queue, { server: 0, action: 'apply', owner: 'test' });
      expect(out).toMatchObject({ action: 'apply', targets: 4, already: 0, replanned: ['order_info'], resumedAt: paused.next });
      const plan = await rt.store.getPlan(config.migrationId, 'order_info');
      expect(plan!.columns.indexOf('note')).toBe(plan!.columns.indexOf('status') + 1);
      expect(plan!.lastDdl).toMatchObject({ statement: paused.statement, action: 'apply' });
      await expectConverged(rt);
      expect(await targetRows(rt, `note = 'after'`)).toBe(10);
      expect(await targetRows(rt, `id = 5000 AND note = 'new row'`)).toBe(1);
      expect((await migrationStatus(config, rt.store)).tables[0]!.status).toBe('DONE');
    });
  });

  it('DROP COLUMN, then TRUNCATE: each pauses; `ddl apply` drops the column and empties every target table, and what came after each is applied', async () => {
    const config = ddlConfig('ddl_truncate', 'stop');
    await withCopiedCdc(config, async (rt, src) => {
      await suite.pool.query(`ALTER TABLE ${src} DROP COLUMN discount`);
      await suite.pool.query(`UPDATE ${src} SET remark = 'after drop' WHERE id <= 6`);
      expect((await pausedCapture(rt)).statement).toMatch(/DROP COLUMN discount/);
      expect(await targetRows(rt, `remark = 'after drop'`)).toBe(0);
      await resolveDdl(rt.ctx, rt.cdc!.queue, { server: 0, action: 'apply', owner: 'test' });
      await expectConverged(rt);
      expect(await targetRows(rt, `remark = 'after drop'`)).toBe(6);

      await suite.pool.query(`TRUNCATE TABLE ${src}`);
      await suite.pool.query(`INSERT INTO ${src} (id, order_no, user_id, amount, buyer_name, create_time, update_time) VALUES (7, '202612060000000007', 7, 1.25, 'Bo', NOW(3), NOW(6))`);
      expect((await pausedCapture(rt)).kind).toBe('truncate');
      expect(await targetRows(rt, '1 = 1')).toBe(1000); // nothing silently diverges: the rows are all still there
      const out = await resolveDdl(rt.ctx, rt.cdc!.queue, { server: 0, action: 'apply', owner: 'test' });
      expect(out.targets).toBe(4);
      await expectConverged(rt);
      expect(await targetRows(rt, '1 = 1')).toBe(1);
    });
  });

  it('a CHANGE that renames a column, then a DROP of it, both before capture reaches them: each `ddl apply` decodes the rows between them by the columns right after the first', async () => {
    const config = ddlConfig('ddl_change', 'stop');
    await withCopiedCdc(config, async (rt, src) => {
      await suite.pool.query(`ALTER TABLE ${src} CHANGE remark note VARCHAR(100) NULL AFTER id`);
      await suite.pool.query(`UPDATE ${src} SET note = 'renamed', update_time = NOW(6) WHERE id <= 5`);
      await suite.pool.query(`ALTER TABLE ${src} DROP COLUMN note`);
      await suite.pool.query(`UPDATE ${src} SET status = 7, update_time = NOW(6) WHERE id <= 3`);
      expect((await pausedCapture(rt)).statement).toMatch(/CHANGE remark note/);
      await resolveDdl(rt.ctx, rt.cdc!.queue, { server: 0, action: 'apply', owner: 'test' });
      // The plan has the columns right after the CHANGE (note second, defined as remark was), not the table's now.
      const plan = await rt.store.getPlan(config.migrationId, 'order_info');
      expect(plan!.columns.slice(0, 2)).toEqual(['id', 'note']);
      expect(plan!.binlogColumns![1]).toMatchObject({ COLUMN_NAME: 'note' });
      expect((await pausedCapture(rt)).statement).toMatch(/DROP COLUMN note/);
      expect(await targetRows(rt, `note = 'renamed'`)).toBe(5);
      await resolveDdl(rt.ctx, rt.cdc!.queue, { server: 0, action: 'apply', owner: 'test' });
      await expectConverged(rt);
      expect(await targetRows(rt, 'status = 7')).toBe(3);
    });
  });

  it("gh-ost's table swap: capture keeps the ghost's ALTER, stops at the swap, and `ddl apply` runs the ALTER on the targets", async () => {
    const config = ddlConfig('ddl_swap', 'stop');
    await withCopiedCdc(config, async (rt, src) => {
      const db = `\`${config.source.database!}\``;
      // gh-ost's steps: a ghost table with the change, filled while the table takes writes, then swapped in by one RENAME.
      await suite.pool.query(`CREATE TABLE ${db}._order_info_gho LIKE ${src}`);
      await suite.pool.query(`ALTER TABLE ${db}._order_info_gho ADD COLUMN channel VARCHAR(16) NOT NULL DEFAULT 'web' AFTER status, ADD INDEX ix_channel (channel)`);
      await suite.pool.query(`UPDATE ${src} SET remark = 'during the change' WHERE id <= 8`);
      await suite.pool.query(`INSERT INTO ${db}._order_info_gho (id, order_no, user_id, status, amount, discount, buyer_name, address, remark, attrs, create_time, update_time)
        SELECT id, order_no, user_id, status, amount, discount, buyer_name, address, remark, attrs, create_time, update_time FROM ${src}`);
      await suite.pool.query(`RENAME TABLE ${src} TO ${db}._order_info_del, ${db}._order_info_gho TO ${src}`);
      await suite.pool.query(`UPDATE ${src} SET channel = 'app', update_time = NOW(6) WHERE id <= 5`);
      const paused = await pausedCapture(rt);
      expect(paused).toMatchObject({ kind: 'rename', changesColumns: true, swap: { ghost: `${config.source.database!}._order_info_gho`, tool: 'gh-ost' } });
      expect(paused.swap!.alters.map((a) => a.statement)).toEqual([expect.stringMatching(/ADD COLUMN channel/)]);
      // What came before the swap is applied; nothing after it.
      await expect.poll(() => targetRows(rt, `remark = 'during the change'`), { timeout: 20_000 }).toBe(8);
      const view = await migrationStatus(config, rt.store);
      expect(view.tables[0]!.paused!.todo).toMatch(/^reshard ddl apply: runs the 1 ALTER statement\(s\) gh-ost ran on its ghost on every target table/);
      const out = await resolveDdl(rt.ctx, rt.cdc!.queue, { server: 0, action: 'apply', owner: 'test' });
      expect(out).toMatchObject({ action: 'apply', targets: 4, already: 0, replanned: ['order_info'] });
      const plan = await rt.store.getPlan(config.migrationId, 'order_info');
      expect(plan!.columns.indexOf('channel')).toBe(plan!.columns.indexOf('status') + 1);
      // The ghost is the table now: capture keeps it no more.
      expect((await rt.store.getCapture(config.migrationId))!.ghosts).toBeUndefined();
      await suite.pool.query(`DROP TABLE ${db}._order_info_del`);
      await expectConverged(rt);
      expect(await targetRows(rt, `channel = 'app'`)).toBe(5);
      expect(await targetRows(rt, `channel = 'web'`)).toBe(995);
    });
  });

  it('a swap whose ghost capture did not see created: `ddl apply` is refused; after the targets are changed by hand, `ddl skip --force` follows the new table', async () => {
    const config = ddlConfig('ddl_swapold', 'stop');
    const db = `\`${config.source.database!}\``;
    await withCopiedCdc(config, async (rt, src) => {
      // The ghost gets its name by a RENAME, not a CREATE: capture never reads what was done to it.
      await suite.pool.query(`CREATE TABLE ${db}._order_info_shadow LIKE ${src}`);
      await suite.pool.query(`ALTER TABLE ${db}._order_info_shadow ADD COLUMN channel VARCHAR(16) NOT NULL DEFAULT 'web'`);
      await suite.pool.query(`INSERT INTO ${db}._order_info_shadow (id, order_no, user_id, status, amount, discount, buyer_name, address, remark, attrs, create_time, update_time) SELECT * FROM ${src}`);
      await suite.pool.query(`RENAME TABLE ${db}._order_info_shadow TO ${db}._order_info_gho`);
      await suite.pool.query(`RENAME TABLE ${src} TO ${db}._order_info_del, ${db}._order_info_gho TO ${src}`);
      await suite.pool.query(`UPDATE ${src} SET channel = 'app', update_time = NOW(6) WHERE id <= 5`);
      const paused = await pausedCapture(rt);
      expect(paused.kind).toBe('rename');
      expect(paused.swap).toBeUndefined();
      expect(paused.reason).toMatch(/it swaps in an online schema change's ghost, but capture did not read the creation of \S+\._order_info_gho/);
      const view = await migrationStatus(config, rt.store);
      expect(view.tables[0]!.paused!.todo).toMatch(/change the target tables to match the source yourself, then reshard ddl skip --force/);
      await expect(resolveDdl(rt.ctx, rt.cdc!.queue, { server: 0, action: 'apply', owner: 'test' })).rejects.toThrow(ConfigError);
      for (let d = 0; d < 2; d++)
        for (let t = 0; t < 2; t++)
          await suite.pool.query(`ALTER TABLE \`${config.target.databasePattern.replace('{db}', String(d))}\`.order_info_${t} ADD COLUMN channel VARCHAR(16) NOT NULL DEFAULT 'web'`);
      const out = await resolveDdl(rt.ctx, rt.cdc!.queue, { server: 0, action: 'skip', force: true, owner: 'test' });
      expect(out).toMatchObject({ action: 'skip', targets: 0, replanned: ['order_info'] });
      await suite.pool.query(`DROP TABLE ${db}._order_info_del`);
      await expectConverged(rt);
      expect(await targetRows(rt, `channel = 'app'`)).toBe(5);
    });
  });
});

describe('DDL during CDC, cdc.onDdl exec and ignore', () => {
  it('exec: DROP COLUMN, ADD COLUMN and TRUNCATE run on the targets once the changes before them are applied, and capture goes on by itself; a RENAME still stops it', async () => {
    const config = ddlConfig('ddl_exec', 'exec');
    await withCopiedCdc(config, async (rt, src) => {
      await suite.pool.query(`UPDATE ${src} SET remark = 'before drop', address = 'x' WHERE id <= 20`);
      await suite.pool.query(`ALTER TABLE ${src} DROP COLUMN address`);
      await suite.pool.query(`UPDATE ${src} SET remark = 'after drop' WHERE id BETWEEN 21 AND 30`);
      await suite.pool.query(`ALTER TABLE ${src} ADD COLUMN channel VARCHAR(16) NULL`);
      await suite.pool.query(`UPDATE ${src} SET channel = 'app' WHERE id <= 3`);
      await expectConverged(rt);
      expect(await targetRows(rt, `remark = 'after drop'`)).toBe(10);
      expect(await targetRows(rt, `channel = 'app'`)).toBe(3);
      const plan = await rt.store.getPlan(config.migrationId, 'order_info');
      expect(plan!.columns).not.toContain('address');
      expect(plan!.lastDdl).toMatchObject({ action: 'exec' });
      expect((await rt.store.getCapture(config.migrationId))!.paused).toBeUndefined();

      await suite.pool.query(`TRUNCATE TABLE ${src}`);
      await suite.pool.query(`INSERT INTO ${src} (id, order_no, user_id, amount, buyer_name, create_time, update_time, channel) VALUES (9, '202612060000000009', 9, 2.5, 'Cy', NOW(3), NOW(6), 'pos')`);
      await expectConverged(rt);
      expect(await targetRows(rt, '1 = 1')).toBe(1);

      await suite.pool.query(`RENAME TABLE ${src} TO \`${config.source.database!}\`.order_info_old`);
      const paused = await pausedCapture(rt);
      expect(paused.reason).toMatch(/^cdc.onDdl is exec, but this RENAME cannot be run on the target tables as it is/);
    });
  });

  it("exec: pt-online-schema-change's swap (a ghost created with the table's definition, altered, filled, swapped in) runs the ghost's ALTER on the targets by itself", async () => {
    const config = ddlConfig('ddl_ptosc', 'exec');
    await withCopiedCdc(config, async (rt, src) => {
      const db = `\`${config.source.database!}\``;
      const [[created]] = (await suite.pool.query(`SHOW CREATE TABLE ${src}`)) as unknown as [[Record<string, string>]];
      await suite.pool.query(created['Create Table']!.replace(/^CREATE TABLE `order_info`/, `CREATE TABLE ${db}.\`_order_info_new\``));
      await suite.pool.query(`ALTER TABLE ${db}._order_info_new MODIFY remark VARCHAR(400) NULL, ADD COLUMN coupon VARCHAR(24) NULL`);
      await suite.pool.query(`INSERT INTO ${db}._order_info_new (id, order_no, user_id, status, amount, discount, buyer_name, address, remark, attrs, create_time, update_time)
        SELECT id, order_no, user_id, status, amount, discount, buyer_name, address, remark, attrs, create_time, update_time FROM ${src}`);
      await suite.pool.query(`RENAME TABLE ${src} TO ${db}._order_info_old, ${db}._order_info_new TO ${src}`);
      await suite.pool.query(`DROP TABLE IF EXISTS ${db}._order_info_old`);
      await suite.pool.query(`UPDATE ${src} SET coupon = 'WINTER', remark = REPEAT('r', 350), update_time = NOW(6) WHERE id <= 7`);
      await expectConverged(rt);
      expect(await targetRows(rt, `coupon = 'WINTER' AND CHAR_LENGTH(remark) = 350`)).toBe(7);
      const plan = await rt.store.getPlan(config.migrationId, 'order_info');
      expect(plan!.columns.at(-1)).toBe('coupon');
      expect(plan!.lastDdl).toMatchObject({ action: 'exec', statement: expect.stringMatching(/^RENAME TABLE/) });
      const state = (await rt.store.getCapture(config.migrationId))!;
      expect(state.paused).toBeUndefined();
      expect(state.ghosts).toBeUndefined();
    });
  });

  it('ignore: goes on past an index change and a gh-ost swap that adds an index, and stops at a column change with the reason', async () => {
    const config = ddlConfig('ddl_ignore', 'ignore');
    await withCopiedCdc(config, async (rt, src) => {
      await suite.pool.query(`CREATE INDEX ix_user ON ${src} (user_id)`);
      await suite.pool.query(`UPDATE ${src} SET remark = 'past index' WHERE id <= 4`);
      await rt.cdc!.drain(60_000);
      expect(await targetRows(rt, `remark = 'past index'`)).toBe(4);
      // An index added by gh-ost: its swap changes no column either.
      const db = `\`${config.source.database!}\``;
      await suite.pool.query(`CREATE TABLE ${db}._order_info_gho LIKE ${src}`);
      await suite.pool.query(`ALTER TABLE ${db}._order_info_gho ADD INDEX ix_amount (amount)`);
      await suite.pool.query(`INSERT INTO ${db}._order_info_gho SELECT * FROM ${src}`);
      await suite.pool.query(`RENAME TABLE ${src} TO ${db}._order_info_del, ${db}._order_info_gho TO ${src}`);
      await suite.pool.query(`UPDATE ${src} SET remark = 'past swap' WHERE id <= 6`);
      await rt.cdc!.drain(60_000);
      expect(await targetRows(rt, `remark = 'past swap'`)).toBe(6);
      expect((await rt.store.getCapture(config.migrationId))!.paused).toBeUndefined();
      await suite.pool.query(`ALTER TABLE ${src} MODIFY remark VARCHAR(300) NULL`);
      const paused = await pausedCapture(rt);
      expect(paused.reason).toMatch(/cdc.onDdl is ignore, which goes on only past DDL that changes no column; this ALTER changes columns/);
      await resolveDdl(rt.ctx, rt.cdc!.queue, { server: 0, action: 'apply', owner: 'test' });
      await expectConverged(rt);
    });
  });
});
