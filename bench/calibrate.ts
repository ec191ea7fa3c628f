/**
 * How fast this machine is right now. On a shared 2-core VM the same run can be 1.6× slower in one hour than
 * in the next, so every bench prints two fixed workloads beside its figures (and in its JSON line): runs are
 * comparable when these are. `jsMs`: JSON round trips of a row-like object (Node's side of the work);
 * `sqlMs`: 10 million CRC32s inside the server (`BENCHMARK`), its side. Lower is faster.
 */
import type { Pool } from 'mysql2/promise';

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
