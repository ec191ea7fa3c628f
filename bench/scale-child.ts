/**
 * One size of `bench:scale`, in a process of its own so that its peak RSS is its own: plan, copy and
 * verification of `bench_scale_src.order_info` into `bench_scale_db_{0..7}` by one execution of the
 * synthesized state machine (Plan → CopySegments → VerifySegments → Finalize), as `reshard run` does.
 * Arguments: port, rows, state directory, page size, segments, concurrency.
 *
 * The stages are timed by the Task each starts with: plan from the execution's start to the first
 * copy-batch call, copy from there to the first verify-batch call, verification from there to finalize.
 * Prints, last, one JSON object: those times, the process's peak RSS (the kernel's high-water mark up to the
 * end of the execution) and the sampled peaks of each stage, what finalize reported, and the independent
 * checksums of source and targets (`local/checksum.ts`).
 */
import { parseConfig } from '../lambdas/core/config.js';
import { ordersConfig } from '../local/seed.js';
import { LocalRuntime } from '../local/runtime.js';
import { checkAll } from '../local/checksum.js';

type Stage = 'plan' | 'copy' | 'verify' | 'finalize';
const STAGE_OF: Record<string, Stage> = { plan: 'plan', 'copy-batch': 'copy', 'verify-batch': 'verify', finalize: 'finalize' };

const [portArg, rowsArg, stateDir, pageSize, segments, concurrency] = process.argv.slice(2);
const port = Number(portArg);
const rows = Number(rowsArg);
const mb = (bytes: number) => Math.round(bytes / 1048576);

// The first call of each stage's Task, and each stage's sampled peaks (RSS, V8 heap, buffers outside it).
const started: Partial<Record<Stage, number>> = {};
let stage: Stage = 'plan';
const peaks: Record<Stage, { rss: number; heap: number; external: number }> = {
  plan: { rss: 0, heap: 0, external: 0 },
  copy: { rss: 0, heap: 0, external: 0 },
  verify: { rss: 0, heap: 0, external: 0 },
  finalize: { rss: 0, heap: 0, external: 0 },
};
const sample = () => {
  const m = process.memoryUsage();
  const p = peaks[stage];
  p.rss = Math.max(p.rss, m.rss);
  p.heap = Math.max(p.heap, m.heapUsed);
  p.external = Math.max(p.external, m.external + m.arrayBuffers);
};

const config = parseConfig(
  ordersConfig({
    migrationId: `bench-scale-${rows}-${Date.now()}`,
    port,
    sourceDb: 'bench_scale_src',
    targetPrefix: 'bench_scale_db',
    pageSize: Number(pageSize),
    segments: Number(segments),
    concurrency: Number(concurrency),
    items: false,
  }),
);
const rt = await LocalRuntime.start({
  config,
  stateDir: stateDir!,
  onTask: (handler) => {
    const s = STAGE_OF[handler];
    if (!s || started[s] !== undefined) return;
    sample(); // the stage before ends here
    started[s] = performance.now();
    stage = s;
  },
});
try {
  const rssTimer = setInterval(sample, 50);
  started.plan = performance.now();
  let result: { tables: { table: string; complete: boolean; rowsCopied: number; verifiedRows: number; dirtyRows: number }[] };
  try {
    result = (await rt.execute().result) as typeof result;
  } finally {
    clearInterval(rssTimer);
  }
  const end = performance.now();
  sample();
  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  const between = (from: Stage, to: Stage | undefined) => Math.round((to ? started[to]! : end) - started[from]!);
  if (started.copy === undefined || started.verify === undefined || started.finalize === undefined) throw new Error(`the execution skipped a stage: ${JSON.stringify(Object.keys(started))}`);
  const [check] = await checkAll(config, rt.ctx.sources, rt.ctx.targets);
  // Each segment's copy (its first page started → its last page committed), and the rows it holds.
  const segs = await rt.store.segments(config.migrationId);
  const table = result.tables.find((t) => t.table === 'order_info')!;
  console.log(
    JSON.stringify({
      planMs: between('plan', 'copy'),
      copyMs: between('copy', 'verify'),
      verifyMs: between('verify', 'finalize'),
      finalizeMs: between('finalize', undefined),
      copyWindowMs: Math.max(...segs.map((c) => c.finishedAt ?? 0)) - Math.min(...segs.map((c) => c.startedAt ?? Infinity)),
      segments: segs.map((c) => ({ rows: c.rowsCopied, pages: c.pagesDone, ms: (c.finishedAt ?? 0) - (c.startedAt ?? 0) })),
      peakRssMb,
      stages: Object.fromEntries(Object.entries(peaks).map(([s, p]) => [s, { rssMb: mb(p.rss), heapMb: mb(p.heap), externalMb: mb(p.external) }])),
      complete: table.complete,
      rowsCopied: table.rowsCopied,
      verifiedRows: table.verifiedRows,
      dirtyRows: table.dirtyRows,
      sourceRows: check!.sourceRows,
      targetRows: check!.targetRows,
      checksumMatch: check!.match,
    }),
  );
} finally {
  await rt.close();
}
