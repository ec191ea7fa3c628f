/**
 * One progress line format everywhere (progress bars, plain lines, `reshard status`): per table copied x/y
 * (p%), rows/s, ETA; for CDC captured events, backlog, lag and DLQ. Pure.
 */

/** A duration for people: `42s`, `3m05s`, `2h07m`; `--` when unknown (negative, NaN or infinite). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

/** Rows per second over a sliding window of (time ms, rows) samples. */
export class RateMeter {
  private readonly samples: { t: number; rows: number }[] = [];
  constructor(private readonly windowMs = 10_000) {}
  add(t: number, rows: number): number {
    this.samples.push({ t, rows });
    while (this.samples.length > 2 && t - this.samples[0]!.t > this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const dt = (t - first.t) / 1000;
    return dt > 0 ? Math.max(0, (rows - first.rows) / dt) : 0;
  }
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');

export interface TableProgress {
  readonly table: string;
  readonly copied: number;
  /** Rows to copy (the statistics total). */
  readonly total: number;
  /** Current copy rate; the line shows no rate when absent. */
  readonly rowsPerSec?: number;
  /** Seconds to go when known otherwise (null: unknown); absent: from `rowsPerSec`. */
  readonly etaSeconds?: number | null;
  /** The table's status, shown in brackets. */
  readonly status?: string;
}

/**
 * `order_info: copied 1,200/5,000 (24.0%)  300 rows/s  ETA 12s  [RUNNING]`: no rate when it is not known;
 * no ETA once nothing is left to copy or the table is DONE (`--` while it cannot be told); an empty table
 * that is DONE shows 100%.
 */
export function progressLine(p: TableProgress): string {
  const left = Math.max(0, p.total - p.copied);
  const pct = p.total > 0 ? Math.min(100, (p.copied / p.total) * 100) : p.status === 'DONE' ? 100 : 0;
  const eta = p.etaSeconds !== undefined ? p.etaSeconds : p.rowsPerSec && p.rowsPerSec > 0 ? left / p.rowsPerSec : null;
  return [
    `${p.table}: copied ${count(p.copied)}/${count(p.total)} (${pct.toFixed(1)}%)`,
    ...(p.rowsPerSec !== undefined ? [`${count(p.rowsPerSec)} rows/s`] : []),
    ...(left > 0 && p.status !== 'DONE' ? [`ETA ${formatDuration(eta ?? Number.NaN)}`] : []),
    ...(p.status ? [`[${p.status}]`] : []),
  ].join('  ');
}

export interface CdcProgress {
  /** Events captured so far. */
  readonly captured: number;
  /** Messages waiting in the queue and in flight. */
  readonly backlog: number;
  /** Messages in the DLQ. */
  readonly dead: number;
  /** Seconds the capture is behind the source (see `secondsBehind`). */
  readonly secondsBehind: number;
  readonly caughtUp: boolean;
  /** With more than one source server: each server's lag. */
  readonly servers?: readonly { readonly name: string; readonly secondsBehind: number; readonly caughtUp: boolean }[];
}

/**
 * `cdc: captured 1,234 events, backlog 5 msg, lag 1.2 s (caught up), DLQ 1` (DLQ only when not empty), and
 * with several source servers each one's lag: `; a:3306 0.0 s, b:3306 1.2 s`.
 */
export function cdcLine(c: CdcProgress): string {
  const perServer = c.servers?.length ? `; ${c.servers.map((s) => `${s.name} ${s.secondsBehind.toFixed(1)} s${s.caughtUp ? '' : ' (reading)'}`).join(', ')}` : '';
  return `cdc: captured ${count(c.captured)} events, backlog ${count(c.backlog)} msg, lag ${c.secondsBehind.toFixed(1)} s${c.caughtUp ? ' (caught up)' : ''}${c.dead ? `, DLQ ${count(c.dead)}` : ''}${perServer}`;
}

/**
 * Seconds the capture is behind the source binlog: 0 when caught up (or nothing was captured yet), else the
 * age of the last captured event's source time. Shared by `status`, the local CDC and the capture metric.
 */
export function secondsBehind(caughtUp: boolean, lastEventAt: number | undefined, now: number): number {
  return caughtUp || !lastEventAt ? 0 : Math.max(0, (now - lastEventAt) / 1000);
}
