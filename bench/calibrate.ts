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

/** The machine's CPU time so far (`/proc/stat`'s `cpu` line, in 1/100 s) and its number of cores; undefined off Linux. */
function machineTicks(): { fields: number[]; cores: number } | undefined {
  try {
    const lines = readFileSync('/proc/stat', 'utf8').split('\n');
    return { fields: lines[0]!.trim().split(/\s+/).slice(1).map(Number), cores: lines.filter((l) => /^cpu\d+ /.test(l)).length };
  } catch {
    return undefined;
  }
}

/**
 * CPU time the hypervisor took from this VM (`steal` in /proc/stat) since the call, as a share of all CPU
 * time: a phase that ran while a neighbour took a third of the cores is slower for that reason alone.
 * `undefined` where /proc/stat is not available.
 */
export function stealMeter(): () => number | undefined {
  const read = (): { steal: number; total: number } | undefined => {
    const f = machineTicks()?.fields;
    return f && { steal: f[7] ?? 0, total: f.slice(0, 8).reduce((a, b) => a + b, 0) };
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
  // Flush everything, and at more than the default 200 pages a second (innodb_io_capacity) while waiting.
  const [[io]] = await pool.query<RowDataPacket[]>('SELECT @@GLOBAL.innodb_io_capacity AS c, @@GLOBAL.innodb_io_capacity_max AS m');
  await pool.query('SET GLOBAL innodb_io_capacity_max = GREATEST(@@GLOBAL.innodb_io_capacity_max, 20000)');
  await pool.query('SET GLOBAL innodb_io_capacity = 10000');
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
    await pool.query('SET GLOBAL innodb_io_capacity = ?', [io!.c]);
    await pool.query('SET GLOBAL innodb_io_capacity_max = ?', [io!.m]);
  }
  log(`  (waited ${((Date.now() - t0) / 1000).toFixed(1)}s for the server to settle: ${dirty} dirty pages, history list ${history})`);
}

/** The process id of the MariaDB server behind `pool` (from its `pid_file`), for `cpuMeter`. */
export async function serverPid(pool: Pick<Pool, 'query'>): Promise<number | undefined> {
  const [[r]] = await pool.query<RowDataPacket[]>('SELECT @@pid_file AS f');
  try {
    return Number(readFileSync(String(r!.f), 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}

/** What `cpuMeter` read: CPU seconds (user + system) per named process, and how busy the machine's cores were. */
export interface CpuReading {
  readonly wallSec: number;
  /** Per process: CPU seconds over the phase (a process that ended or cannot be read is left out). */
  readonly sec: Readonly<Record<string, number>>;
  /** CPU seconds of every process of the machine over the phase, ÷ wall seconds: 2 on a 2-core VM kept busy. */
  readonly coresBusy: number;
  readonly cores: number;
}

/**
 * CPU time of the given processes (and of the whole machine) from the call until the returned function is
 * called. A phase whose machine was busy on every core is bounded by its CPU seconds, not by waiting: its
 * wall-time ratio to a ceiling is then the ratio of their CPU seconds, spread over the cores each could use.
 */
export function cpuMeter(pids: Readonly<Record<string, number | undefined>>): () => CpuReading {
  const tick = 100; // USER_HZ: /proc reports CPU time in 1/100 s on Linux
  const of = (pid: number): number | undefined => {
    try {
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return Number(f[11]) + Number(f[12]);
    } catch {
      return undefined;
    }
  };
  const machine = (): { busy: number; cores: number } | undefined => {
    const m = machineTicks();
    if (!m) return undefined;
    // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
    const f = m.fields;
    return { busy: f.slice(0, 8).reduce((a, b) => a + b, 0) - (f[3] ?? 0) - (f[4] ?? 0), cores: m.cores };
  };
  const t0 = performance.now();
  const start = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, pid === undefined ? undefined : of(pid)]));
  const m0 = machine();
  return () => {
    const wallSec = (performance.now() - t0) / 1000;
    const sec: Record<string, number> = {};
    for (const [k, pid] of Object.entries(pids)) {
      const a = start[k];
      const b = pid === undefined ? undefined : of(pid);
      if (a !== undefined && b !== undefined) sec[k] = Number(((b - a) / tick).toFixed(2));
    }
    const m1 = machine();
    const coresBusy = m0 && m1 && wallSec > 0 ? Number(((m1.busy - m0.busy) / tick / wallSec).toFixed(2)) : NaN;
    return { wallSec: Number(wallSec.toFixed(3)), sec, coresBusy, cores: m1?.cores ?? 0 };
  };
}

/** One timed run of some work: its wall seconds and what `cpuMeter` read over it. */
export interface Measured {
  readonly sec: number;
  readonly cpu: CpuReading;
}

/** Runs `work`, timed and metered (`cpuMeter` over `pids`). */
export async function measure(pids: Readonly<Record<string, number | undefined>>, work: () => Promise<unknown>): Promise<Measured> {
  const meter = cpuMeter(pids);
  const started = performance.now();
  await work();
  return { sec: Number(((performance.now() - started) / 1000).toFixed(3)), cpu: meter() };
}

/** The mean of two runs of the same work: a ceiling measured before the path and again after it. */
export function meanOf(a: Measured, b: Measured): Measured {
  const mean = (x: number, y: number) => Number(((x + y) / 2).toFixed(3));
  const sec = Object.fromEntries(Object.keys(a.cpu.sec).filter((k) => k in b.cpu.sec).map((k) => [k, mean(a.cpu.sec[k]!, b.cpu.sec[k]!)]));
  return { sec: (a.sec + b.sec) / 2, cpu: { wallSec: mean(a.cpu.wallSec, b.cpu.wallSec), sec, coresBusy: mean(a.cpu.coresBusy, b.cpu.coresBusy), cores: a.cpu.cores } };
}

/** The ceiling's CPU seconds ÷ the path's (all processes read), to 3 decimals: the path's work against its ceiling's. */
export function workRatio(ceiling: CpuReading, path: CpuReading): number {
  const total = (r: CpuReading) => Object.values(r.sec).reduce((a, b) => a + b, 0);
  return Number((total(ceiling) / total(path)).toFixed(3));
}

/** A reading as one line: `Node 5.2 s, server 9.1 s CPU; cores busy 1.8 of 2`. */
export const cpuText = (r: CpuReading) =>
  `${Object.entries(r.sec)
    .map(([k, s]) => `${k} ${s.toFixed(2)} s`)
    .join(', ')} CPU; cores busy ${Number.isNaN(r.coresBusy) ? 'n/a' : r.coresBusy.toFixed(2)} of ${r.cores}`;
