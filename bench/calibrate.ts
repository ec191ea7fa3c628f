/**
 * How fast this machine is right now. On a shared 2-core VM the same run can be 1.6× slower in one hour than
 * in the next, so every bench prints two fixed workloads beside its figures (and in its JSON line): runs are
 * comparable when these are. `jsMs`: JSON round trips of a row-like object (Node's side of the work);
 * `sqlMs`: 10 million CRC32s inside the server (`BENCHMARK`), its side. Lower is faster.
 */
import { readFileSync } from 'node:fs';
import type { Pool, RowDataPacket } from 'mysql2/promise';

export interface Calibration {
  readonly jsMs: number;
  readonly sqlMs: number;
}

export async function calibrate(pool: Pick<Pool, 'query'>): Promise<Calibration> {
  const row = { id: '1', order_no: '202606010000000002', user_id: '574702', status: 4, amount: '490.53', buyer_name: 'Иван', create_time: '2026-06-01 00:00:52.467' };
  let t = performance.now();
  let n = 0;
  for (let i = 0; i < 200_000; i++) n += (JSON.parse(JSON.stringify({ ...row, id: String(i) })) as { status: number }).status;
  const jsMs = Math.round(performance.now() - t);
  if (n !== 800_000) throw new Error('calibration loop miscounted');
  t = performance.now();
  await pool.query(`SELECT BENCHMARK(10000000, CRC32('reshard calibration row'))`);
  const sqlMs = Math.round(performance.now() - t);
  return { jsMs, sqlMs };
}

export const calibrationText = (c: Calibration) => `machine now: ${c.jsMs} ms of JSON round trips, ${c.sqlMs} ms of server CRC32s (lower is faster; compare runs whose figures match)`;

/**
 * CPU time the hypervisor took from this VM (`steal` in /proc/stat) since the call, as a share of all CPU
 * time: a phase that ran while a neighbour took a third of the cores is slower for that reason alone.
 * `undefined` where /proc/stat is not available.
 */
export function stealMeter(): () => number | undefined {
  const read = (): { steal: number; total: number } | undefined => {
    try {
      const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
      return { steal: f[7] ?? 0, total: f.slice(0, 8).reduce((a, b) => a + b, 0) };
    } catch {
      return undefined;
    }
  };
  const start = read();
  return () => {
    const now = read();
    if (!start || !now || now.total === start.total) return undefined;
    return Math.round((1000 * (now.steal - start.steal)) / (now.total - start.total)) / 10;
  };
}

/**
 * Waits (up to `maxMs`) until the server has written out its dirty pages and purged its undo history, so that
 * a timed phase starts from the same server state: without this the phase that runs after generating (or after
 * another phase and its DROP) also pays for their flushing. Logs how long it waited.
 */
export async function settleServer(pool: Pick<Pool, 'query'>, log: (line: string) => void, maxMs = 30_000): Promise<void> {
  const status = async (name: string) => {
    const [[r]] = await pool.query<RowDataPacket[]>(`SELECT VARIABLE_VALUE AS v FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = ?`, [name]);
    return Number(r!.v);
  };
  const t0 = Date.now();
  let dirty: number;
  let history: number;
  await pool.query('SET GLOBAL innodb_max_dirty_pages_pct = 0');
  try {
    for (;;) {
      dirty = await status('INNODB_BUFFER_POOL_PAGES_DIRTY');
      history = await status('INNODB_HISTORY_LIST_LENGTH');
      if ((dirty <= 64 && history <= 1000) || Date.now() - t0 > maxMs) break;
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await pool.query('SET GLOBAL innodb_max_dirty_pages_pct = DEFAULT');
  }
  log(`  (waited ${((Date.now() - t0) / 1000).toFixed(1)}s for the server to settle: ${dirty} dirty pages, history list ${history})`);
}
