import { describe, expect, it } from 'vitest';
import { escapeHtml, renderReport, shardChart } from '../../local/report-html.js';
import { valueText, type ReportData, type TableReport } from '../../lambdas/app/report.js';

const XSS = '<script>alert("x")</script>';

function table(overrides: Partial<TableReport> = {}): TableReport {
  return {
    table: 'order_info',
    recordKey: ['id'],
    timeColumn: 'create_time',
    window: { from: '2026-06-01', to: null },
    verification: { batches: 3, rowsCompared: 2500, byChecksum: 2000, byRows: 500, missing: 1, different: 2, extra: 1, repaired: 0, clean: false },
    days: [
      { day: '2026-06-01', source: 1200, target: 1200 },
      { day: '2026-06-02', source: 1300, target: 1299 },
    ],
    sourceRows: 2500,
    targetRows: 2499,
    shards: [
      { target: 'db_0.order_info_0', db: 0, table: 0, rows: 1000 },
      { target: 'db_0.order_info_1', db: 0, table: 1, rows: 1499 },
      { target: 'db_1.order_info_0', db: 1, table: 0, rows: 0 },
    ],
    dirtyTotal: 4,
    dirty: [
      { kind: 'different', target: 'db_0.order_info_1', key: [XSS], columns: [{ column: 'remark', source: 'a & b', target: `<img src=x onerror=alert(1)>` }, { column: 'note', source: null, target: '' }] },
      { kind: 'different', target: 'db_0.order_info_0', key: ['8'], columns: [{ column: 'amount', source: '1.00', target: '1.00' }] },
      { kind: 'missing', target: 'db_0.order_info_1', key: ['9'], columns: [] },
      { kind: 'extra', target: 'db_1.order_info_0', key: ['10'], columns: [] },
    ],
    ...overrides,
  };
}

function report(tables: TableReport[] = [table()]): ReportData {
  return { migrationId: 'm-1', generatedAt: '2026-11-22T10:00:00.000Z', sourceDatabase: 'shop', databases: 2, routing: 'spread', clean: tables.every((t) => t.verification.clean), tables };
}

describe('renderReport', () => {
  it('escapes every value: a <script> in a key, markup in values, table and target names', () => {
    const html = renderReport(report([table({ table: `t"><script>1</script>`, shards: [{ target: XSS, db: 0, table: 0, rows: 3 }] })]));
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('a &amp; b');
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });

  it('is self-contained: no scripts, no external assets, inline CSS and SVG', () => {
    const html = renderReport(report([table({ dirty: table().dirty.slice(1) })]));
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<style>');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\bsrc=|url\(|@import|https?:/i);
  });

  it('has each section per table: summary, rows per day, a bar per target table, differences', () => {
    const html = renderReport(report([table(), table({ table: 'order_item', verification: { ...table().verification, clean: true, missing: 0, different: 0, extra: 0 }, dirtyTotal: 0, dirty: [] })]));
    for (const t of ['order_info', 'order_item']) for (const s of ['summary', 'days', 'shards', 'dirty']) expect(html).toContain(`id="t-${t}-${s}"`);
    // Table of contents with both, overall DIRTY.
    expect(html).toContain('href="#t-order_info"');
    expect(html).toMatch(/Verification report <span class="badge dirty">DIRTY<\/span>/);
    // Summary numbers and shares.
    expect(html).toContain('2,000 (80.0%)');
    expect(html).toContain('500 (20.0%)');
    // Per day: the mismatching day is marked, with its difference; totals.
    expect(html).toMatch(/<tr class="mismatch"><td>2026-06-02<\/td><td class="n">1,300<\/td><td class="n">1,299<\/td><td class="n">-1<\/td><\/tr>/);
    expect(html).toMatch(/<tr class="total"><td>Total<\/td><td class="n">2,500<\/td><td class="n">2,499<\/td>/);
    expect(html).toContain('window 2026-06-01 ≤ create_time &lt; +∞');
    expect(html).toContain('Total: source 2,500, targets 2,499. <strong>1 day(s) differ</strong>: 2026-06-02 (-1).');
    // One bar per target table, the empty one marked.
    const chart = html.slice(html.indexOf('id="t-order_info-shards"'), html.indexOf('</svg>', html.indexOf('id="t-order_info-shards"')));
    expect(chart.match(/<rect /g)).toHaveLength(3);
    expect(chart).toContain('class="bar empty"');
    expect(chart).toContain('<title>db_0.order_info_1: 1,499 rows</title>');
    // Differences: kinds, columns with both values, NULL vs empty kept apart, equal-now marked.
    expect(html).toContain('<code>remark</code>: source <span class="v">a &amp; b</span>');
    expect(html).toContain('<code>note</code>: source <span class="null">NULL</span> → target <span class="null">(empty)</span>');
    expect(html).toContain('(equal now)');
    expect(html).toContain('class="kind-missing">missing');
    expect(html).toContain('class="kind-extra">extra');
    expect(html).toContain('No differences.');
  });

  it('a table without a time column shows one total; a partial list says how many are shown', () => {
    const html = renderReport(report([table({ timeColumn: null, window: null, days: [{ day: 'all', source: 5, target: 5 }], dirtyTotal: 900 })]));
    expect(html).toContain('no <code>timeColumn</code> configured: one total');
    expect(html).toMatch(/<td>all rows<\/td><td class="n">5<\/td><td class="n">5<\/td>/);
    expect(html).toContain('Differences (4 of 900 listed)');
  });

  it('is deterministic', () => {
    expect(renderReport(report())).toBe(renderReport(report()));
  });
});

describe('shardChart', () => {
  it('scales bars to the largest table and draws an empty chart without failing', () => {
    const svg = shardChart([{ target: 'a.t_0', db: 0, table: 0, rows: 50 }, { target: 'a.t_1', db: 0, table: 1, rows: 100 }], 'x');
    const heights = [...svg.matchAll(/<rect class="bar" x="\d+" y="[\d.]+" width="\d+" height="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(heights).toEqual([100, 200]);
    expect(shardChart([], 'none')).toContain('<svg');
  });
});

describe('valueText', () => {
  it('keeps NULL apart, shows bytes as hex and cuts long text', () => {
    expect(valueText(null)).toBeNull();
    expect(valueText('')).toBe('');
    expect(valueText(Buffer.from([0, 255]))).toBe('0x00ff');
    expect(valueText('x'.repeat(300), 10)).toBe(`${'x'.repeat(10)}…`);
    expect(valueText(Buffer.alloc(100), 10)).toBe(`0x${'00'.repeat(4)}…`);
  });
});
