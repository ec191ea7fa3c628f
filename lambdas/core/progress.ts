/** One progress line format everywhere: copied x/y (p%), rows/s, ETA. Pure. */

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

export function progressLine(p: { table: string; copied: number; total: number; rowsPerSec: number; status?: string }): string {
  const pct = p.total > 0 ? Math.min(100, (p.copied / p.total) * 100) : 0;
  const eta = p.rowsPerSec > 0 ? formatDuration(Math.max(0, p.total - p.copied) / p.rowsPerSec) : '--';
  return `${p.table}: copied ${p.copied.toLocaleString('en-US')}/${p.total.toLocaleString('en-US')} (${pct.toFixed(1)}%)  ${Math.round(p.rowsPerSec).toLocaleString('en-US')} rows/s  ETA ${eta}${p.status ? `  [${p.status}]` : ''}`;
}

/**
 * Seconds the capture is behind the source binlog: 0 when caught up (or nothing was captured yet), else the
 * age of the last captured event's source time. Shared by `status`, the local CDC and the capture metric.
 */
export function secondsBehind(caughtUp: boolean, lastEventAt: number | undefined, now: number): number {
  return caughtUp || !lastEventAt ? 0 : Math.max(0, (now - lastEventAt) / 1000);
}
