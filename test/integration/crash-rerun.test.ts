/**
 * `reshard run` killed with SIGKILL mid-copy (a real child process, at a random moment), then run again at
 * once: the rerun takes over the leases the dead process left, resumes from the checkpoints and converges.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import { seedOrders } from '../../local/seed.js';
import { checkAll } from '../../local/checksum.js';
import { parseConfig } from '../../lambdas/core/config.js';
import { integrationSuite } from '../helpers/suite.js';

const root = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'reshard-crash-'));
const cli = (...args: string[]) => [process.execPath, ['--import', 'tsx', join(root, 'bin/reshard.ts'), ...args]] as const;
const suite = integrationSuite({ databases: 2, tablesPerDb: 2, pageSize: 100, segments: 2, concurrency: 2, items: false });
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Rows in the first target table so far (0 until plan has created it). */
async function copiedSoFar(db: string, table: string): Promise<number> {
  const pool = suite.pool;
  const [r] = await pool.query<RowDataPacket[]>('SELECT TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [db, table]);
  if (!r.length) return 0;
  const [[c]] = await pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${db}\`.\`${table}\``);
  return Number(c!.n);
}

describe('a killed run', () => {
  // Two CLI processes in a row, each starting the local runtime: longer than the default test timeout under load.
  it('is resumed at once by the next run, which takes over the dead process leases', { timeout: 300_000 }, async () => {
    const base = suite.config('crash');
    const pool = suite.pool;
    const db = (n: number) => base.target.databasePattern.replace('{db}', String(n));
    // Throttled so the copy takes seconds and the kill lands inside it.
    const config = parseConfig({ ...base, copy: { ...base.copy, maxRowsPerSec: 1500 } });
    await seedOrders(pool, config.source.database!, { orders: 6000, itemsPerOrder: 0, seed: 31 });
    const file = join(work, 'config.json');
    writeFileSync(file, JSON.stringify(config));
    const stateDir = join(work, 'state');

    const [bin, args] = cli('run', '--config', file, '--state-dir', stateDir);
    const child = spawn(bin, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const exited = new Promise<NodeJS.Signals | null>((r) =>
      child.once('exit', (code, signal) => {
        exit = { code, signal };
        r(signal);
      }),
    );
    const firstTarget = { db: db(0), table: 'order_info_0' };
    const deadline = Date.now() + 120_000;
    while ((await copiedSoFar(firstTarget.db, firstTarget.table)) === 0) {
      if (exit) throw new Error(`the run ended (${JSON.stringify(exit)}) before it copied anything:\n${output}`);
      if (Date.now() > deadline) throw new Error(`the run copied nothing within 120 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 1000)));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const [[mid]] = await pool.query<RowDataPacket[]>(
      `SELECT (SELECT COUNT(*) FROM \`${db(0)}\`.order_info_0) + (SELECT COUNT(*) FROM \`${db(0)}\`.order_info_1) + (SELECT COUNT(*) FROM \`${db(1)}\`.order_info_0) + (SELECT COUNT(*) FROM \`${db(1)}\`.order_info_1) AS n`,
    );
    expect(Number(mid!.n)).toBeLessThan(6000); // killed mid-copy

    const rerun = spawnSync(...cli('run', '--config', file, '--state-dir', stateDir), { cwd: root, encoding: 'utf8', timeout: 180_000 });
    expect(rerun.stderr).toBe('');
    expect(rerun.status).toBe(0);
    expect(rerun.stdout).toMatch(/segment order_info#\d: its lease was held by local@[^:]+:\d+:.*, a process of this host that is gone; taken over now/);
    expect(rerun.stdout).toMatch(/order_info: copied 6,000\/6,000 \(100\.0%\)/);
    const [check] = await checkAll(config, pool, [pool]);
    expect(check).toMatchObject({ sourceRows: 6000, match: true });
  });
});
