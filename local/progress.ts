/**
 * Progress of a running copy, read from the checkpoints (the same numbers `status` shows): on a TTY a bar
 * per table followed by its progress line (cli-progress), plus the CDC line; otherwise the same lines as
 * plain text every `intervalMs`.
 */
import cliProgress from 'cli-progress';
import type { MigrationConfig } from '../lambdas/core/config.js';
import type { StateStore } from '../lambdas/adapters/state-store.js';
import { migrationStatus } from '../lambdas/app/status.js';
import { cdcLine, progressLine, RateMeter } from '../lambdas/core/progress.js';
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
        { format: ' {bar} {line}', hideCursor: true, clearOnComplete: false, stopOnComplete: false },
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
      const line = progressLine({ table: t.table, copied: t.rowsCopied, total: t.statisticsTotal, rowsPerSec: meters.get(t.table)!.add(now, t.rowsCopied), status: t.throttled ? `THROTTLED: ${t.throttled.reason}` : t.status });
      lines.push(line);
      if (multi) {
        const total = Math.max(t.statisticsTotal, t.rowsCopied, 1);
        let bar = bars.get(t.table);
        if (!bar) bars.set(t.table, (bar = multi.create(total, t.rowsCopied, { line })));
        bar.setTotal(total);
        bar.update(t.rowsCopied, { line });
      }
    }
    const lag = opts.lag ? await opts.lag().catch(() => undefined) : undefined;
    const lagText = lag ? cdcLine(lag) : undefined;
    if (multi && lagText) {
      lagBar ??= multi.create(1, 0, { line: lagText }, { format: ' {line}' });
      lagBar.update(0, { line: lagText });
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
