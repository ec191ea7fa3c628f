/**
 * `reshard cutover` killed with SIGKILL while writes are frozen (a real child process). The source is a MariaDB
 * of its own (the read-only switch is server-wide), the targets are on the shared test server. With `freeze: read-only` the switch outlives the process, so the
 * source stays frozen until `reshard cutover --abort`, which runs the Cutover machine's Unfreeze and leaves it
 * writable; `reshard status` then shows the cut-over ABORTED.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import mysql, { type Pool, type RowDataPacket } from 'mysql2/promise';
import { seedOrders } from '../../local/seed.js';
import { parseConfig } from '../../lambdas/core/config.js';
import { dropPrefixed, ownMariaDb, rootPool, testConfig, uniquePrefix } from '../helpers/db.js';

const root = resolve(import.meta.dirname, '../..');
// The source, on a MariaDB of its own; its directory holds the config and the state too.
const { port, dir: work, pool: source } = ownMariaDb('cutover-kill', 1003, {
  pool: (p) => mysql.createPool({ host: '127.0.0.1', port: p, user: 'root', password: '', connectionLimit: 4 }),
});
const cli = (...args: string[]) => [process.execPath, ['--import', 'tsx', join(root, 'bin/reshard.ts'), ...args]] as const;
let pool: Pool;
let targets: Pool;

beforeAll(() => {
  pool = source();
  targets = rootPool();
});
afterAll(async () => {
  await pool?.query('SET GLOBAL read_only = OFF').catch(() => undefined);
  if (targets) {
    await dropPrefixed(targets, prefix).catch(() => undefined);
    await targets.end();
  }
});

const prefix = uniquePrefix('co_kill');
const readOnly = async () => Number((await pool.query<RowDataPacket[]>('SELECT @@GLOBAL.read_only AS v'))[0][0]!.v);

describe('a cut-over killed while frozen', () => {
  it('leaves a read-only source frozen until reshard cutover --abort thaws it', { timeout: 300_000 }, async () => {
    const base = testConfig(prefix, { databases: 2, tablesPerDb: 2, segments: 2, concurrency: 2, items: false });
    const config = parseConfig({
      ...base,
      source: { ...base.source, port },
      cdc: { enabled: true, serverId: 70_000 + Math.floor(Math.random() * 100_000), applyConcurrency: 2 },
      cutover: { freeze: 'read-only', freezeTimeoutSeconds: 600 },
      // Without a verification the check while frozen reads every target table (not only the changed rows'),
      // so the lock below holds it there.
      verify: { enabled: false },
    });
    await pool.query(`CREATE DATABASE \`${config.source.database!}\``);
    await seedOrders(pool, config.source.database!, { orders: 800, itemsPerOrder: 0, seed: 9 });
    const file = join(work, 'config.json');
    writeFileSync(file, JSON.stringify(config));
    const stateDir = join(work, 'state');

    const run = spawnSync(...cli('run', '--config', file, '--state-dir', stateDir), { cwd: root, encoding: 'utf8', timeout: 180_000 });
    expect(run.status, run.stdout + run.stderr).toBe(0);

    // The final check reads every target table: a write lock on one holds the cut-over there, frozen.
    const holder = await targets.getConnection();
    await holder.query(`LOCK TABLES \`${config.target.databasePattern.replace('{db}', '1')}\`.order_info_1 WRITE`);
    const routing = join(work, 'routing.json');
    const child = spawn(...cli('cutover', '--config', file, '--state-dir', stateDir, '--routing-file', routing), { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, signal) => r(signal)));
    try {
      await expect.poll(readOnly, { timeout: 60_000, interval: 100 }).toBe(1).catch(async (err: unknown) => {
        const [list] = await pool.query<RowDataPacket[]>('SELECT ID, COMMAND, TIME, STATE, INFO FROM information_schema.PROCESSLIST');
        throw new Error(`the cut-over never froze the source:\n${output}\n${JSON.stringify(list, null, 1)}`, { cause: err });
      });
      // The CLI tells each step as it happens.
      await expect.poll(() => output, { timeout: 60_000 }).toMatch(/cut-over: caught up; checking every table while frozen/);
      child.kill('SIGKILL');
      expect(await exited, output).toBe('SIGKILL');
    } finally {
      await holder.query('UNLOCK TABLES');
      holder.release();
    }
    // The process is gone and the source is still frozen.
    expect(await readOnly()).toBe(1);

    const abort = spawnSync(...cli('cutover', '--config', file, '--state-dir', stateDir, '--abort'), { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(abort.status, abort.stdout + abort.stderr).toBe(0);
    expect(abort.stdout).toMatch(/thawed:\n {2}127\.0\.0\.1:\d+: read-only off/);
    expect(await readOnly()).toBe(0);

    const status = spawnSync(...cli('status', '--config', file, '--state-dir', stateDir, '--json'), { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(status.status, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ cutover: { status: 'ABORTED', freeze: 'read-only' } });

    // Turning read-only on waits for sessions holding table locks: a cut-over gives up after freezeTimeoutSeconds, never frozen.
    writeFileSync(file, JSON.stringify({ ...config, cutover: { freeze: 'read-only', freezeTimeoutSeconds: 2 } }));
    expect(existsSync(routing)).toBe(false); // never switched
    const locker = await pool.getConnection();
    try {
      await locker.query(`LOCK TABLES \`${config.source.database!}\`.order_info WRITE`);
      const blocked = spawnSync(...cli('cutover', '--config', file, '--state-dir', stateDir, '--routing-file', routing), { cwd: root, encoding: 'utf8', timeout: 120_000 });
      expect(blocked.status).not.toBe(0);
      expect(blocked.stderr + blocked.stdout).toMatch(/CutoverFailedError: cut-over failed, and the source was thawed: .*SET GLOBAL read_only = ON: ER_LOCK_WAIT_TIMEOUT/);
      expect(await readOnly()).toBe(0);
    } finally {
      await locker.query('UNLOCK TABLES');
      locker.release();
    }
  });
});
