/**
 * `reshard verify --report FILE.html`: renders the report data as one self-contained HTML page (inline CSS,
 * inline SVG, no scripts, no external assets). Pure: the same data gives the same text. Every value that
 * comes from the data is HTML-escaped.
 */
import type { DayCount, DirtyEntry, ReportData, ShardCount, TableReport } from '../lambdas/app/report.js';

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const esc = escapeHtml;
const num = (n: number) => esc(n.toLocaleString('en-US'));
const pct = (part: number, whole: number) => (whole > 0 ? `${((part / whole) * 100).toFixed(1)}%` : '–');
/** An id usable in `id=` / `href="#…"` for any table name. */
const anchor = (s: string) => `t-${[...s].map((c) => (/[A-Za-z0-9_-]/.test(c) ? c : `.${c.codePointAt(0)!.toString(16)}`)).join('')}`;

const CSS = `
:root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --muted: #57606a; --line: #d0d7de; --bg: #f6f8fa; --bar: #0969da; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, BlinkMacSystemFont, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328; margin: 0; padding: 24px 32px 48px; max-width: 1200px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 32px 0 8px; padding-top: 16px; border-top: 1px solid var(--line); } h3 { font-size: 15px; margin: 20px 0 6px; }
.meta { color: var(--muted); margin: 0 0 16px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; vertical-align: middle; }
.badge.clean { background: var(--ok); } .badge.dirty { background: var(--bad); }
table { border-collapse: collapse; margin: 4px 0 8px; }
th, td { border: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg); font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.mismatch td { background: #ffebe9; } tr.total td { font-weight: 600; background: var(--bg); }
.kind-missing { color: var(--bad); } .kind-extra { color: var(--warn); } .kind-different { color: var(--bar); }
code, .v { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; word-break: break-all; }
.null { color: var(--muted); font-style: italic; }
.same { color: var(--muted); }
.scroll { max-height: 420px; overflow: auto; display: inline-block; max-width: 100%; }
.note { color: var(--muted); font-size: 12px; }
ul.toc { padding-left: 18px; }
svg text { font: 10px -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; fill: #57606a; }
svg .bar { fill: var(--bar); } svg .bar.empty { fill: var(--bad); } svg .mean { stroke: var(--warn); stroke-dasharray: 4 3; }
`;

function badge(clean: boolean): string {
  return `<span class="badge ${clean ? 'clean' : 'dirty'}">${clean ? 'CLEAN' : 'DIRTY'}</span>`;
}

function summarySection(t: TableReport): string {
  const v = t.verification;
  const rows: [string, string][] = [
    ['Rows compared', num(v.rowsCompared)],
    ['… proven equal by checksum', `${num(v.byChecksum)} (${pct(v.byChecksum, v.rowsCompared)})`],
    ['… compared row by row', `${num(v.byRows)} (${pct(v.byRows, v.rowsCompared)})`],
    ['Batches', num(v.batches)],
    ['Missing in target', num(v.missing)],
    ['Different', num(v.different)],
    ['Extra in target', num(v.extra)],
    ['Repaired', num(v.repaired)],
    ['Result', v.clean ? (v.repaired > 0 ? 'clean after repair' : 'clean') : 'differences remain'],
  ];
  return `<h3>Verification</h3>
<table class="summary" id="${anchor(t.table)}-summary"><tbody>
${rows.map(([k, val]) => `<tr><th>${esc(k)}</th><td class="n">${val}</td></tr>`).join('\n')}
</tbody></table>`;
}

function daysSection(t: TableReport): string {
  const scope = t.timeColumn
    ? `by <code>${esc(t.timeColumn)}</code>${t.window ? `, window ${esc(t.window.from ?? '−∞')} ≤ ${esc(t.timeColumn)} &lt; ${esc(t.window.to ?? '+∞')}` : ''}`
    : 'no <code>timeColumn</code> configured: one total';
  const label = (d: DayCount) => (d.day === 'all' && !t.timeColumn ? 'all rows' : d.day === 'null' ? `${t.timeColumn ?? 'time'} is NULL` : d.day);
  const mismatched = t.days.filter((d) => d.source !== d.target);
  const delta = (d: DayCount) => `${d.target - d.source > 0 ? '+' : ''}${(d.target - d.source).toLocaleString('en-US')}`;
  const differ = mismatched.length
    ? `<strong>${num(mismatched.length)} day(s) differ</strong>: ${mismatched
        .slice(0, 12)
        .map((d) => `${esc(label(d))} (${esc(delta(d))})`)
        .join(', ')}${mismatched.length > 12 ? ', …' : ''}.`
    : 'Every day matches.';
  const body = t.days
    .map((d) => `<tr${d.source !== d.target ? ' class="mismatch"' : ''}><td>${esc(label(d))}</td><td class="n">${num(d.source)}</td><td class="n">${num(d.target)}</td><td class="n">${esc(delta(d))}</td></tr>`)
    .join('\n');
  return `<h3>Rows per day, source vs targets</h3>
<p class="note">Source ${scope}; targets: the same count over all ${num(t.shards.length)} target tables. Total: source ${num(t.sourceRows)}, targets ${num(t.targetRows)}. ${differ}</p>
<div class="scroll"><table class="days" id="${anchor(t.table)}-days">
<thead><tr><th>Day</th><th class="n">Source</th><th class="n">Targets</th><th class="n">Targets − source</th></tr></thead>
<tbody>
${body}
<tr class="total"><td>Total</td><td class="n">${num(t.sourceRows)}</td><td class="n">${num(t.targetRows)}</td><td class="n">${esc((t.targetRows - t.sourceRows).toLocaleString('en-US'))}</td></tr>
</tbody></table></div>`;
}

/** Bar chart of rows per target table (inline SVG); each bar's tooltip names the table and its count. */
export function shardChart(shards: readonly ShardCount[], title: string): string {
  const max = Math.max(1, ...shards.map((s) => s.rows));
  const mean = shards.length ? shards.reduce((a, s) => a + s.rows, 0) / shards.length : 0;
  const barW = shards.length > 128 ? 6 : shards.length > 64 ? 9 : 14;
  const gap = 3;
  const left = 64;
  const top = 12;
  const h = 200;
  const labelH = 70;
  const width = left + shards.length * (barW + gap) + 16;
  const height = top + h + labelH;
  const y = (rows: number) => top + h - (rows / max) * h;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => Math.round(max * f));
  const parts: string[] = [];
  parts.push(`<svg width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(title)}">`);
  parts.push(`<title>${esc(title)}</title>`);
  for (const v of [...new Set(ticks)]) {
    parts.push(`<line x1="${left - 4}" x2="${width - 8}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eaeef2"/>`);
    parts.push(`<text x="${left - 8}" y="${(y(v) + 3).toFixed(1)}" text-anchor="end">${num(v)}</text>`);
  }
  shards.forEach((s, i) => {
    const x = left + i * (barW + gap);
    // An empty table still gets a thin red bar, so it shows.
    const barH = s.rows > 0 ? Math.max(1, (s.rows / max) * h) : 2;
    parts.push(
      `<rect class="${s.rows === 0 ? 'bar empty' : 'bar'}" x="${x}" y="${(top + h - barH).toFixed(1)}" width="${barW}" height="${barH.toFixed(1)}"><title>${esc(s.target)}: ${num(s.rows)} rows</title></rect>`,
    );
    const lx = x + barW / 2;
    const ly = top + h + 6;
    parts.push(`<text x="${lx}" y="${ly}" transform="rotate(60 ${lx} ${ly})">${esc(`${s.db}.${s.table}`)}</text>`);
  });
  if (shards.length) parts.push(`<line class="mean" x1="${left}" x2="${width - 8}" y1="${y(mean).toFixed(1)}" y2="${y(mean).toFixed(1)}"><title>mean ${esc(Math.round(mean).toLocaleString('en-US'))} rows</title></line>`);
  parts.push('</svg>');
  return parts.join('\n');
}

function shardsSection(t: TableReport): string {
  const rows = t.shards.map((s) => s.rows);
  const max = Math.max(0, ...rows);
  const min = rows.length ? Math.min(...rows) : 0;
  const mean = rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : 0;
  const empty = rows.filter((r) => r === 0).length;
  return `<h3>Rows per target table</h3>
<p class="note">${num(t.shards.length)} target tables (label: db.table index; hover a bar for its name). Max ${num(max)}, min ${num(min)}, mean ${num(Math.round(mean))}${mean > 0 ? `, max/mean ×${(max / mean).toFixed(2)}` : ''}${empty ? `; <strong>${num(empty)} empty</strong>` : ''}.</p>
<div class="chart" id="${anchor(t.table)}-shards">${shardChart(t.shards, `Rows per target table of ${t.table}`)}</div>
<details><summary>As a table</summary><div class="scroll"><table class="shards"><thead><tr><th>Target table</th><th class="n">Rows</th></tr></thead><tbody>
${t.shards.map((s) => `<tr><td><code>${esc(s.target)}</code></td><td class="n">${num(s.rows)}</td></tr>`).join('\n')}
</tbody></table></div></details>`;
}

function valueCell(v: string | null | undefined): string {
  if (v === undefined) return '<span class="null">(no row)</span>';
  if (v === null) return '<span class="null">NULL</span>';
  if (v === '') return '<span class="null">(empty)</span>';
  return `<span class="v">${esc(v)}</span>`;
}

function dirtyRow(d: DirtyEntry, recordKey: readonly string[]): string {
  const key = d.key.map((k, i) => `${esc(recordKey[i] ?? `k${i}`)}=<span class="v">${esc(k)}</span>`).join(', ');
  const what =
    d.kind === 'missing'
      ? 'in the source, not in this target table'
      : d.kind === 'extra'
        ? 'in this target table, not in the source (or routed elsewhere)'
        : d.columns
            .map((c) => {
              const now = c.source !== undefined && c.target !== undefined && c.source === c.target ? ' <span class="same">(equal now)</span>' : '';
              return `<div><code>${esc(c.column)}</code>: source ${valueCell(c.source)} → target ${valueCell(c.target)}${now}</div>`;
            })
            .join('');
  return `<tr><td class="kind-${esc(d.kind)}">${esc(d.kind)}</td><td>${key}</td><td><code>${esc(d.target)}</code></td><td>${what}</td></tr>`;
}

function dirtySection(t: TableReport): string {
  if (t.dirtyTotal === 0) return `<h3>Differences</h3>\n<p id="${anchor(t.table)}-dirty">No differences.</p>`;
  const shown = t.dirty.length < t.dirtyTotal ? ` (${num(t.dirty.length)} of ${num(t.dirtyTotal)} listed)` : '';
  return `<h3>Differences${shown}</h3>
<p class="note">Values are read again when the report is written: after <code>--repair</code>, or a change since, they may be equal now.</p>
<div class="scroll"><table class="dirty" id="${anchor(t.table)}-dirty"><thead><tr><th>Kind</th><th>Key</th><th>Target table</th><th>Columns that differ (source → target)</th></tr></thead><tbody>
${t.dirty.map((d) => dirtyRow(d, t.recordKey)).join('\n')}
</tbody></table></div>`;
}

function tableSection(t: TableReport): string {
  return `<section class="table" id="${anchor(t.table)}">
<h2>${esc(t.table)} ${badge(t.verification.clean)}</h2>
${summarySection(t)}
${daysSection(t)}
${shardsSection(t)}
${dirtySection(t)}
</section>`;
}

/** The whole report as one HTML document. */
export function renderReport(data: ReportData): string {
  const title = `reshard verification — ${data.migrationId}`;
  const toc = data.tables.length > 1 ? `<ul class="toc">${data.tables.map((t) => `<li><a href="#${anchor(t.table)}">${esc(t.table)}</a> ${badge(t.verification.clean)}</li>`).join('')}</ul>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>Verification report ${badge(data.clean)}</h1>
<p class="meta">Migration <code>${esc(data.migrationId)}</code> · source database <code>${esc(data.sourceDatabase)}</code> · ${num(data.databases)} target database(s), routing <code>${esc(data.routing)}</code> · generated ${esc(data.generatedAt)}</p>
${toc}
</header>
<main>
${data.tables.map(tableSection).join('\n')}
</main>
</body>
</html>
`;
}
