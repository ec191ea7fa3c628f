#!/usr/bin/env -S node --import tsx
/**
 * `npm run chaos [-- --seed N --faults K --orders R --restarts S --kills K]`: the chaos scenario (`local/chaos.ts`) on a private
 * MariaDB with binlog and the embedded emulators. Prints what was injected and what the independent comparison
 * found; its last line is one JSON object. Exits non-zero when a row was lost, extra or different.
 */
import { Command, Option } from 'commander';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { parseConfig } from '../lambdas/core/config.js';
import { startMariaDb } from '../local/mariadb.js';
import { ordersConfig, seedOrders } from '../local/seed.js';
import { runChaos } from '../local/chaos.js';

const int = (v: string) => Number.parseInt(v, 10);
const opts = new Command()
  .name('chaos')
  .description('copy with CDC under live writes while faults are injected at seeded moments, then compare every target table with the source')
  .addOption(new Option('--seed <n>', 'random seed: the same seed injects the same faults').argParser(int).default(Date.now() % 1_000_000))
  .addOption(new Option('--faults <k>', 'faults to inject').argParser(int).default(100))
  .addOption(new Option('--orders <n>', 'orders to seed (with about 2.5 items each)').argParser(int).default(200_000))
  .addOption(new Option('--port <port>', 'port of the private MariaDB holding the source (the targets\' is the next one)').argParser(int).default(3399))
  .addOption(new Option('--restarts <n>', 'restarts of the source\'s or the targets\' MariaDB server among the faults').argParser(int).default(2))
  .addOption(new Option('--kills <n>', 'SIGKILLs of the runtime (run in child processes), mid-copy, mid-apply, mid-verify and mid-finalize in turn').argParser(int).default(4))
  .parse()
  .opts<{ seed: number; faults: number; orders: number; port: number; restarts: number; kills: number }>();

const dir = mkdtempSync(join(tmpdir(), 'reshard-chaos-'));
const log = (l: string) => console.log(l);
// A lock wait gives up after 1 s: the lock holds (1.5 s on average) make the copy's and apply's writes time out.
const serverArgs = ['--innodb-lock-wait-timeout=1'];
// The source on one server, the targets on another (port + 1): each is restarted on its own.
const ports = { source: opts.port, target: opts.port + 1 };
const servers = {
  source: await startMariaDb({ dir: join(dir, 'source'), port: ports.source, args: serverArgs, log }),
  target: await startMariaDb({ dir: join(dir, 'target'), port: ports.target, args: serverArgs, log }),
};
const restartServer = async (which: 'source' | 'target') => {
  await servers[which].stop('shutdown');
  servers[which] = await startMariaDb({ dir: join(dir, which), port: ports[which], args: serverArgs });
};
const pool = (port: number) => mysql.createPool({ host: '127.0.0.1', port, user: 'root', password: '', connectionLimit: 6 });
const admin = pool(ports.source);
const targetAdmin = pool(ports.target);
try {
  log(`seed ${opts.seed}: ${opts.orders.toLocaleString('en-US')} orders, ${opts.faults} faults`);
  await seedOrders(admin, 'chaos_src', { orders: opts.orders, itemsPerOrder: 2.5, seed: opts.seed });
  const base = parseConfig(ordersConfig({ migrationId: 'chaos', port: opts.port, sourceDb: 'chaos_src', targetPrefix: 'chaos_db', databases: 4, tablesPerDb: 4, pageSize: 2000, segments: 8, concurrency: 4 }));
  const config = parseConfig({
    ...base,
    target: { ...base.target, connection: { ...base.target.connection, port: ports.target } },
    cdc: { enabled: true, serverId: 7301, applyConcurrency: 4 },
    verify: { repair: true },
  });
  const r = await runChaos({ config, admin, targetAdmin, orders: opts.orders, seed: opts.seed, faults: opts.faults, restartServer, restarts: opts.restarts, kills: opts.kills, log });
  log(`faults injected: ${r.faultsInjected} (${Object.entries(r.byKind).map(([k, n]) => `${k} ${n}`).join(', ')}); restarts ${r.restarts}; rows redone ≤ ${r.rowsRedone}`);
  if (r.killedIn) log(`runtime killed with SIGKILL in: ${r.killedIn.join(', ') || 'none'}`);
  log(`source rows ${r.sourceRows.toLocaleString('en-US')} after ${r.writes.toLocaleString('en-US')} writes: rows lost ${r.rowsLost}, rows extra ${r.rowsExtra}, rows different ${r.rowsDifferent}; ${r.seconds} s`);
  console.log(JSON.stringify(r));
  process.exitCode = r.rowsLost + r.rowsExtra + r.rowsDifferent > 0 ? 1 : 0;
} finally {
  await admin.end();
  await targetAdmin.end();
  await Promise.all([servers.source.stop('kill'), servers.target.stop('kill')]);
  rmSync(dir, { recursive: true, force: true });
}
