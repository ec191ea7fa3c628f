/**
 * The reshard copy of `bench:reshard`, in a process of its own so that its peak RSS is its own and not the
 * single-source copy's that ran before it. Arguments: port, rows, page size, concurrency. The rows are
 * already spread over `bench_old_{0..7}.order_info_{0..7}`. Prints, last, `{"seconds", "peakRssMb", "match"}`:
 * the run's time (state machine start to end, plan included), the process's peak RSS while it ran, and whether
 * the independent checksums of source and targets match with every row there.
 */
import { parseConfig } from '../lambdas/core/config.js';
import { ordersConfig } from '../local/seed.js';
import { LocalRuntime } from '../local/runtime.js';
import { checkAll } from '../local/checksum.js';

const [port, rows, pageSize, concurrency] = process.argv.slice(2).map(Number) as [number, number, number, number];
let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
const base = ordersConfig({ migrationId: `bench-reshard-${Date.now()}`, port, sourceDb: 'bench_src', targetPrefix: 'bench_new', pageSize, segments: 1, concurrency, items: false, databases: 16, tablesPerDb: 16 });
const sharded = parseConfig({
  ...base,
  source: { host: '127.0.0.1', port, user: 'root', password: '', databases: 8, databasePattern: 'bench_old_{db}', routing: { algorithm: 'spread' } },
  tables: (base.tables as Record<string, unknown>[]).map((tb) => ({ ...tb, sourceTable: 'order_info_{table}', sourceTablesPerDb: 8 })),
  // One segment per physical table: 64 Map items, as many as the single-source copy's pages in flight allow.
  verify: { enabled: false },
});
const rs = await LocalRuntime.start({ config: sharded });
try {
  const t = Date.now();
  await rs.execute().result;
  const seconds = (Date.now() - t) / 1000;
  clearInterval(rssTimer);
  const [check] = await checkAll(sharded, rs.ctx.sources, rs.ctx.targets);
  console.log(JSON.stringify({ seconds, peakRssMb: Math.round(peakRss / 1048576), match: check!.match && check!.sourceRows === rows }));
} finally {
  clearInterval(rssTimer);
  await rs.close();
}
