/**
 * Progress of a running copy, read from the checkpoints (the same numbers `status` shows): bars per
 * table on a TTY (cli-progress), plain lines otherwise.
 */
import cliProgress from 'cli-progress';
import type { MigrationConfig } from '../lambdas/core/config.js';
import type { StateStore } from '../lambdas/adapters/state-store.js';
import { migrationStatus } from '../lambdas/app/status.js';
import { formatDuration, progressLine, RateMeter } from '../lambdas/core/progress.js';
import type { CdcLag } from './cdc.js';

export interface ProgressReporter {
  stop(): Promise<void>;
}

export function startProgress(
  config: MigrationConfig,
  store: StateStore,
  opts: { tty?: boolean; intervalMs?: number; write?: (line: string) => void; lag?: () => Promise<CdcLag> } = {},
): ProgressReporter {
  const tty = opts.tty ?? Boolean(process.stdout.isTTY);
  const write = opts.write ?? ((l: string) => process.stdout.write(`${l}\n`));
  const meters = new Map(config.tables.map((t) => [t.name, new RateMeter()]));
  const multi = tty
    ? new cliProgress.MultiBar(
        { format: ' {table} |{bar}| {value}/{total} rows {percentage}% | {rate} rows/s | ETA {etaText} | {state}', hideCursor: true, clearOnComplete: false, stopOnComplete: false },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const bars = new Map<string, cliProgress.SingleBar>();
  let lastPlain = 0;
  let lagBar: cliProgress.SingleBar | undefined;
  let stopped = false;
  const tick = async (final = false) => {
    const view = await migrationStatus(config, store).catch(() => undefined);
    if (!view) return;
    const now = Date.now();
    const lines: string[] = [];
    for (const t of view.tables) {
      const rate = meters.get(t.table)!.add(now, t.rowsCopied);
      const total = Math.max(t.statisticsTotal, t.rowsCopied, 1);
      if (multi) {
        let bar = bars.get(t.table);
        const payload = { table: t.table.padEnd(20), rate: Math.round(rate), etaText: rate > 0 ? formatDuration((total - t.rowsCopied) / rate) : '--', state: t.status };
        if (!bar) bars.set(t.table, (bar = multi.create(total, t.rowsCopied, payload)));
        bar.setTotal(total);
        bar.update(t.rowsCopied, payload);
      } else {
        lines.push(progressLine({ table: t.table, copied: t.rowsCopied, total: t.statisticsTotal, rowsPerSec: rate, status: t.status }));
      }
    }
    const lag = opts.lag ? await opts.lag().catch(() => undefined) : undefined;
    const lagText = lag ? `cdc: applied backlog ${lag.backlog} msg, lag ${lag.secondsBehind.toFixed(1)} s${lag.caughtUp ? ' (caught up)' : ''}${lag.dead ? `, DLQ ${lag.dead}` : ''}` : undefined;
    if (multi && lagText) {
      if (!lagBar) lagBar = multi.create(1, 0, { table: 'cdc'.padEnd(20), rate: 0, etaText: '--', state: lagText });
      lagBar.update(0, { table: 'cdc'.padEnd(20), rate: 0, etaText: '--', state: lagText });
    }
    if (lagText) lines.push(lagText);
    if (!multi && (final || now - lastPlain >= (opts.intervalMs ?? 5000))) {
      lastPlain = now;
      for (const l of lines) write(l);
    }
  };
  const timer = setInterval(() => {
    if (!stopped) void tick();
  }, multi ? 500 : 1000);
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await tick(true);
      multi?.stop();
    },
  };
}
