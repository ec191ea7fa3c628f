/**
 * `npm run bench:throttle`: does `copy.maxRowsPerSec` hold? 300,000 `order_info` rows are copied into 8 × 8
 * tables through the state machine twice: without a cap (the ceiling, measured in the same run), then with a
 * cap of 20,000 rows/s. Each rate is the rows over the time from the first segment's start to the end of the
 * execution. `throttledRowsPerSec` must be within 10% of the cap (`withinTenPct`), and the cap well below the
 * ceiling for the figure to mean anything. Last line: one JSON object.
 * Options: --rows N, --cap N, --segments N, --concurrency N, --page-size N, --port P.
 */
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../lambdas/core/config.js';
import { ordersConfig } from '../local/seed.js';
import { LocalRuntime } from '../local/runtime.js';
import { checkAll } from '../local/checksum.js';
import { benchArgs, benchServer } from './harness.js';

const args = benchArgs({ numbers: { rows: 300_000, cap: 20_000, segments: 8, concurrency: 4, 'page-size': 5000, port: 3431 } });
const { rows, cap, segments, concurrency, port } = args;
const pageSize = args['page-size'];
const here = dirname(fileURLToPath(import.meta.url));

const bench = await benchServer('throttle', port, { connectionLimit: 4 });
const { admin, calibration } = bench;
const targets = Array.from({ length: 8 }, (_, i) => `bencht_db_${i}`);
const drop = async (dbs: readonly string[]) => {
  for (const db of dbs) await admin.query(`DROP DATABASE IF EXISTS \`${db}\``);
};
try {
  await drop(['bencht_src', ...targets]);
  if (spawnSync(process.execPath, ['--import', 'tsx', join(here, 'seed-child.ts'), String(port), String(rows), 'bencht_src'], { stdio: 'inherit' }).status !== 0) throw new Error('seeding failed');

  /** One copy into fresh targets: its rate from the first segment's start to the end of the execution. */
  const copy = async (maxRowsPerSec: number): Promise<{ rowsPerSec: number; seconds: number; match: boolean }> => {
    await drop(targets);
    const base = ordersConfig({ migrationId: `bencht-${maxRowsPerSec}-${Date.now()}`, port, sourceDb: 'bencht_src', targetPrefix: 'bencht_db', pageSize, segments, concurrency, items: false });
    const config = parseConfig({ ...base, copy: { ...(base.copy as object), maxRowsPerSec }, verify: { enabled: false } });
    const rt = await LocalRuntime.start({ config });
    try {
      await rt.execute().result;
      const end = Date.now();
      const started = Math.min(...(await rt.store.segments(config.migrationId)).map((s) => s.startedAt ?? Infinity));
      const seconds = (end - started) / 1000;
      const [check] = await checkAll(config, rt.ctx.source, rt.ctx.targets);
      return { rowsPerSec: Math.round(rows / seconds), seconds, match: check!.match };
    } finally {
      await rt.close();
    }
  };

  const ceiling = await copy(0);
  console.log(`no cap: ${ceiling.seconds.toFixed(1)}s = ${ceiling.rowsPerSec.toLocaleString('en-US')} rows/s (the ceiling)`);
  const capped = await copy(cap);
  const deviation = (capped.rowsPerSec - cap) / cap;
  const withinTenPct = Math.abs(deviation) <= 0.1;
  console.log(
    `cap ${cap.toLocaleString('en-US')} rows/s: ${capped.seconds.toFixed(1)}s = ${capped.rowsPerSec.toLocaleString('en-US')} rows/s, ${(deviation * 100).toFixed(1)}% off the cap: ${withinTenPct ? 'within' : 'NOT within'} 10%` +
      (cap * 1.5 > ceiling.rowsPerSec ? ' (the cap is not well below the ceiling: this run says little)' : ''),
  );
  console.log(
    JSON.stringify({
      rows,
      cap,
      throttledRowsPerSec: capped.rowsPerSec,
      deviationPct: Number((deviation * 100).toFixed(1)),
      withinTenPct,
      ceilingRowsPerSec: ceiling.rowsPerSec,
      segments,
      concurrency,
      pageSize,
      checksumMatch: ceiling.match && capped.match,
      calibration,
    }),
  );
  if (!withinTenPct || !ceiling.match || !capped.match) process.exitCode = 1;
} finally {
  await drop(['bencht_src', ...targets]).catch(() => undefined);
  await bench.stop();
}
