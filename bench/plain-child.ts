/**
 * The copy bench's baseline, in a process of its own: a plain mysql2 loop over the source rows (keyset pages,
 * one multi-row INSERT per target table, 8 at a time on a pool of 8, the next page read while this one is
 * written) — no routing rules, no guard, no checkpoints: what a client can push into 64 tables on this server.
 * Arguments: port, page size. The 64 tables `bench_plain.t0…t63` exist already. Prints `{"seconds": …}`:
 * the loop's time, without the process's start.
 */
import mysql from 'mysql2/promise';

const [port, size] = process.argv.slice(2).map(Number) as [number, number];
const pool = mysql.createPool({ host: '127.0.0.1', port, user: 'root', password: '', connectionLimit: 8, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true, jsonStrings: true });
const [colRows] = (await pool.query(`SELECT COLUMN_NAME AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'bench_src' AND TABLE_NAME = 'order_info' ORDER BY ORDINAL_POSITION`)) as unknown as [{ n: string }[]];
const names = colRows.map((c) => c.n);
const insertHead = (i: number) => `INSERT INTO bench_plain.t${i} (${names.map((n) => `\`${n}\``).join(', ')}) VALUES ?`;
const pageOf = (after: number) => pool.query(`SELECT * FROM bench_src.order_info WHERE id > ? ORDER BY id LIMIT ${size}`, [after]) as unknown as Promise<[Record<string, string | number | Buffer | null>[]]>;
const started = performance.now();
let next = pageOf(0);
for (;;) {
  const [page] = await next;
  if (page.length === 0) break;
  next = pageOf(Number(page[page.length - 1]!.id));
  const groups = new Map<number, unknown[][]>();
  for (const r of page) {
    const k = Number(BigInt(String(r.order_no ?? r.user_id ?? 0).replace(/\D/g, '') || '0') % 64n);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(names.map((n) => r[n] ?? null));
  }
  const list = [...groups.entries()];
  let i = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (i < list.length) {
        const [k, values] = list[i++]!;
        await pool.query(insertHead(k), [values]);
      }
    }),
  );
}
const seconds = (performance.now() - started) / 1000;
await pool.end();
console.log(JSON.stringify({ seconds }));
