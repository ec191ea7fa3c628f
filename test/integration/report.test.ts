/**
 * The verification report on the real stack: copy, corrupt the targets, verify, gather — per-day and
 * per-target-table counts checked against SQL written here independently, the dirty keys with their
 * values — and `reshard verify --report` from the CLI (with --json and --repair).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import { LocalRuntime } from '../../local/runtime.js';
import { rng, seedOrders } from '../../local/seed.js';
import { verifyTable } from '../../lambdas/app/verify.js';
import { gatherReport } from '../../lambdas/app/report.js';
import { renderReport } from '../../local/report-html.js';
import { routerFor, tableConfig } from '../../lambdas/app/context.js';
import { parseConfig, type MigrationConfig } from '../../lambdas/core/config.js';
import { integrationSuite } from '../helpers/suite.js';

const suite = integrationSuite({ databases: 4, tablesPerDb: 4, pageSize: 500, segments: 3, concurrency: 2, items: false });
const root = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'reshard-report-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const WINDOW = { from: '2026-06-03', to: '2026-06-10' };
const inWindow = `create_time >= '2026-06-03 00:00:00' AND create_time < '2026-06-10 00:00:00'`;

/** Every target table of a config, as `db`.`table` SQL names. */
function targetTables(config: MigrationConfig): string[] {
  const t = config.tables[0]!;
  return Array.from({ length: config.target.databases * t.tablesPerDb }, (_, i) => {
    const db = Math.floor(i / t.tablesPerDb);
    return `\`${config.target.databasePattern.replace('{db}', String(db))}\`.\`${t.targetTable.replace('{table}', String(i % t.tablesPerDb))}\``;
  });
}

async function countByDay(sql: string): Promise<Map<string, number>> {
  const [rows] = await suite.pool.query<RowDataPacket[]>(sql);
  return new Map(rows.map((r) => [String(r.d), Number(r.n)]));
}

describe('verification report', () => {
  it('per-day counts (source by time column within the window vs all targets), rows per target table and the dirty keys match SQL', async () => {
    const base = suite.config('report');
    const config = parseConfig({ ...base, tables: [{ ...base.tables[0]!, window: WINDOW }] });
    const src = `\`${config.source.database!}\`.order_info`;
    await seedOrders(suite.pool, config.source.database!, { orders: 3000, itemsPerOrder: 0, seed: 5, start: new Date('2026-06-01T00:00:00Z'), days: 12 });
    const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo });
    try {
      await rt.execute().result;
      const router = routerFor(rt.ctx, tableConfig(rt.ctx, 'order_info'));
      const at = async (id: number) => {
        const [[row]] = (await suite.pool.query(`SELECT * FROM ${src} WHERE id = ?`, [id])) as unknown as [[Record<string, unknown>]];
        const t = router.route(row);
        return { row, sql: `\`${t.database}\`.\`${t.tableName}\``, name: `${t.database}.${t.tableName}` };
      };

      // Corrupt: 6 rows deleted, 4 changed (one to markup), 3 extra rows in the window, 1 extra outside it.
      const [scope] = await suite.pool.query<RowDataPacket[]>(`SELECT id FROM ${src} WHERE ${inWindow} ORDER BY id`);
      const rand = rng(11);
      const picked = new Set<number>();
      while (picked.size < 10) picked.add(Number(scope[Math.floor(rand() * scope.length)]!.id));
      const [deleted, changed] = [[...picked].slice(0, 6), [...picked].slice(6)];
      const expectedDelta = new Map<string, number>();
      for (const id of deleted) {
        const { row, sql } = await at(id);
        await suite.pool.query(`DELETE FROM ${sql} WHERE id = ?`, [id]);
        const day = String(row.create_time).slice(0, 10);
        expectedDelta.set(day, (expectedDelta.get(day) ?? 0) - 1);
      }
      const MARKUP = '<script>alert("report")</script>';
      for (const [n, id] of changed.entries()) {
        const { sql } = await at(id);
        await suite.pool.query(`UPDATE ${sql} SET remark = ? WHERE id = ?`, [n === 0 ? MARKUP : `tampered ${n}`, id]);
      }
      const targets = router.allTargets();
      for (const [i, [id, time]] of ([[90_001, '2026-06-05 12:00:00'], [90_002, '2026-06-05 13:00:00'], [90_003, '2026-06-05 14:00:00'], [90_004, '2026-06-20 00:00:00']] as const).entries()) {
        const t = targets[i * 5]!;
        await suite.pool.query(`INSERT INTO \`${t.database}\`.\`${t.tableName}\` (id, order_no, user_id, amount, buyer_name, create_time, update_time) VALUES (?, '1', 1, 1, 'ghost', ?, NOW(6))`, [id, time]);
      }
      expectedDelta.set('2026-06-05', (expectedDelta.get('2026-06-05') ?? 0) + 3);

      const summary = await verifyTable(rt.ctx, 'order_info', { batchRows: 400 });
      expect(summary).toMatchObject({ clean: false, missing: 6, different: 4, extra: 3 });
      const data = await gatherReport(rt.ctx, [summary], { now: new Date('2026-11-22T00:00:00Z') });
      const [t] = data.tables;
      expect(data).toMatchObject({ migrationId: config.migrationId, clean: false, databases: 4, routing: 'spread', generatedAt: '2026-11-22T00:00:00.000Z' });
      expect(t).toMatchObject({ table: 'order_info', timeColumn: 'create_time', window: { from: WINDOW.from, to: WINDOW.to }, dirtyTotal: 13 });
      expect(t!.verification).toMatchObject({ rowsCompared: summary.rowsCompared, byChecksum: summary.byChecksum, byRows: summary.byRows, missing: 6, different: 4, extra: 3, clean: false });

      // Per day, against SQL: the source within the window, the targets the same GROUP BY over all 16 tables.
      const dayExpr = `DATE_FORMAT(create_time, '%Y-%m-%d')`;
      const sourceDays = await countByDay(`SELECT ${dayExpr} AS d, COUNT(*) AS n FROM ${src} WHERE ${inWindow} GROUP BY d`);
      const targetDays = await countByDay(`SELECT d, SUM(n) AS n FROM (${targetTables(config).map((x) => `SELECT ${dayExpr} AS d, COUNT(*) AS n FROM ${x} WHERE ${inWindow} GROUP BY d`).join(' UNION ALL ')}) u GROUP BY d`);
      expect([...sourceDays.keys()].sort()).toEqual(['2026-06-03', '2026-06-04', '2026-06-05', '2026-06-06', '2026-06-07', '2026-06-08', '2026-06-09']);
      expect(t!.days).toEqual([...sourceDays.keys()].sort().map((day) => ({ day, source: sourceDays.get(day), target: targetDays.get(day) ?? 0 })));
      for (const d of t!.days) expect(d.target - d.source, d.day).toBe(expectedDelta.get(d.day) ?? 0);
      expect(t!.sourceRows).toBe([...sourceDays.values()].reduce((a, b) => a + b, 0));
      expect(t!.targetRows).toBe(t!.sourceRows - 6 + 3);

      // Per target table, against SQL (within the window: the row outside it is not counted).
      expect(t!.shards).toHaveLength(16);
      for (const [i, x] of targetTables(config).entries()) {
        const [[{ n }]] = (await suite.pool.query(`SELECT COUNT(*) AS n FROM ${x} WHERE ${inWindow}`)) as unknown as [[{ n: number }]];
        expect(t!.shards[i], x).toMatchObject({ target: x.replaceAll('`', ''), rows: Number(n) });
      }
      expect(t!.shards.every((s) => s.rows > 0)).toBe(true);

      // Dirty keys: every one, the changed ones with the column and both values as they are now.
      expect(t!.dirty).toHaveLength(13);
      for (const id of deleted) expect(t!.dirty).toContainEqual({ kind: 'missing', target: (await at(id)).name, key: [String(id)], columns: [] });
      for (const [n, id] of changed.entries()) {
        const { row, name } = await at(id);
        expect(t!.dirty).toContainEqual({ kind: 'different', target: name, key: [String(id)], columns: [{ column: 'remark', source: row.remark ?? null, target: n === 0 ? MARKUP : `tampered ${n}` }] });
      }
      for (const id of [90_001, 90_002, 90_003]) expect(t!.dirty.find((d) => d.key[0] === String(id))).toMatchObject({ kind: 'extra', columns: [] });

      const html = renderReport(data);
      expect(html).not.toContain(MARKUP);
      expect(html).toContain('&lt;script&gt;alert(&quot;report&quot;)&lt;/script&gt;');
      expect(html).toContain(`<td>2026-06-05</td><td class="n">${sourceDays.get('2026-06-05')!.toLocaleString('en-US')}</td>`);
      expect(html.match(/<rect class="bar"/g)).toHaveLength(16);

      // After repair: every day and the totals match; the extra row outside the window is out of scope.
      const repaired = await verifyTable(rt.ctx, 'order_info', { batchRows: 400, repair: true });
      expect(repaired.clean).toBe(true);
      const after = (await gatherReport(rt.ctx, [repaired])).tables[0]!;
      expect(after.days.every((d) => d.source === d.target)).toBe(true);
      expect(after.targetRows).toBe(after.sourceRows);
      // The report lists what was found and repaired; the values are equal now.
      expect(after.dirty.filter((d) => d.kind === 'different').every((d) => d.columns.every((c) => c.source === c.target))).toBe(true);
    } finally {
      await rt.close();
    }
  });

  it('reshard verify --report from the CLI: one total without a time column; with --repair --json stdout stays JSON', async () => {
    const base = suite.config('reportcli', { databases: 2, tablesPerDb: 2 });
    const { timeColumn: _t, ...table } = base.tables[0]!;
    const config = parseConfig({ ...base, tables: [table] });
    await seedOrders(suite.pool, config.source.database!, { orders: 600, itemsPerOrder: 0, seed: 8 });
    const file = join(work, 'config.json');
    writeFileSync(file, JSON.stringify(config));
    const stateDir = join(work, 'state');
    const reshard = (...args: string[]) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bin/reshard.ts'), ...args, '--config', file, '--state-dir', stateDir], { cwd: root, encoding: 'utf8', timeout: 120_000 });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    expect(reshard('run').code).toBe(0);
    const [gone] = await suite.pool.query<RowDataPacket[]>(`SELECT id, order_no, user_id FROM \`${config.source.database!}\`.order_info WHERE order_no IS NOT NULL ORDER BY id LIMIT 2`);
    for (const r of gone) {
      const slot = Number(BigInt(String(r.order_no)) % 4n); // spread over 2 × 2
      await suite.pool.query(`DELETE FROM \`${config.target.databasePattern.replace('{db}', String(slot % 2))}\`.order_info_${Math.floor(slot / 2)} WHERE id = ?`, [r.id]);
    }

    const dirtyHtml = join(work, 'dirty.html');
    const dirty = reshard('verify', '--report', dirtyHtml);
    expect(dirty.code).toBe(1);
    expect(dirty.stdout).toContain('order_info: DIRTY');
    expect(dirty.stdout).toContain(`report written to ${dirtyHtml}`);
    const html = readFileSync(dirtyHtml, 'utf8');
    expect(html).toContain('no <code>timeColumn</code> configured: one total');
    expect(html).toMatch(/<tr class="mismatch"><td>all rows<\/td><td class="n">600<\/td><td class="n">598<\/td>/);
    for (const r of gone) expect(html).toContain(`id=<span class="v">${String(r.id)}</span>`);

    const fixedHtml = join(work, 'fixed.html');
    const fixed = reshard('verify', '--repair', '--json', '--report', fixedHtml);
    expect(fixed.code).toBe(0);
    const [summary] = JSON.parse(fixed.stdout) as { table: string; clean: boolean; missing: number; repaired: number }[];
    expect(summary).toMatchObject({ table: 'order_info', clean: true, missing: 2, repaired: 2 });
    expect(fixed.stderr).toContain(`report written to ${fixedHtml}`);
    expect(readFileSync(fixedHtml, 'utf8')).toMatch(/<tr><td>all rows<\/td><td class="n">600<\/td><td class="n">600<\/td>/);
  });
});
