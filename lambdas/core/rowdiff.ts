/**
 * Row equality across MySQL types, pure. Values arrive as mysql2 returns them with our connection options:
 * DATETIME/DATE/TIMESTAMP as text (exact fractional seconds), DECIMAL and BIGINT as text, JSON as text,
 * BLOB/BINARY as Buffer, NULL as null.
 */
import { recordKeyId } from './config.js';
import type { DirtyRow } from './model.js';
import type { Row } from './model.js';

export type ColumnKind = 'int' | 'decimal' | 'float' | 'datetime' | 'json' | 'binary' | 'text';
export type ColumnKinds = Readonly<Record<string, ColumnKind>>;

/** Maps a MySQL column type (`information_schema.COLUMNS.DATA_TYPE`) to how its values compare. */
export function kindOfType(dataType: string): ColumnKind {
  const t = dataType.toLowerCase();
  if (/^(tinyint|smallint|mediumint|int|integer|bigint|year|bit)$/.test(t)) return 'int';
  if (/^(decimal|numeric)$/.test(t)) return 'decimal';
  if (/^(float|double|real)$/.test(t)) return 'float';
  if (/^(datetime|timestamp|date|time)$/.test(t)) return 'datetime';
  if (t === 'json') return 'json';
  if (/(blob|binary)$/.test(t)) return 'binary';
  return 'text';
}

/** A JSON number as its exact source text (JSON.parse would round integers beyond 2^53 and long fractions). */
class JsonNumber {
  constructor(readonly text: string) {}
}

/** Parses JSON keeping every number's source text (Node 22: the reviver's third argument). */
function parseJsonExact(text: string): unknown {
  const reviver = (_key: string, value: unknown, context?: { source?: string }) =>
    typeof value === 'number' ? new JsonNumber(context?.source ?? String(value)) : value;
  return JSON.parse(text, reviver);
}

/** An exact decimal text for a JSON/JS number literal: `1e3` → `1000`, `2.50` → `2.5`, `-0` → `0`. */
function exactNumber(text: string): string {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!m) return text;
  const [, sign = '', int = '', frac = '', exp = '0'] = m;
  let digits = `${int}${frac}`;
  let point = int.length + Number(exp);
  if (point < 0) {
    digits = '0'.repeat(-point) + digits;
    point = 0;
  } else if (point > digits.length) digits += '0'.repeat(point - digits.length);
  return decimalText(`${sign}${digits.slice(0, point) || '0'}.${digits.slice(point)}`);
}

/** Canonical JSON text: keys sorted, no whitespace, numbers by exact value (never rounded through a double). */
function canonicalJson(v: unknown): string {
  if (v instanceof JsonNumber) return exactNumber(v.text);
  if (typeof v === 'number') return Number.isFinite(v) ? exactNumber(String(v)) : 'null';
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

function decimalText(s: string): string {
  let [int = '0', frac = ''] = s.replace(/^\+/, '').split('.');
  const neg = int.startsWith('-');
  int = int.replace(/^-/, '').replace(/^0+(?=\d)/, '');
  frac = frac.replace(/0+$/, '');
  const body = frac ? `${int}.${frac}` : int;
  return neg && body !== '0' ? `-${body}` : body;
}

/** A comparable text for one value; NULL stays distinct from the empty string. */
export function normalize(value: unknown, kind?: ColumnKind): string | null {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return `x${value.toString('hex')}`;
  if (value instanceof Date) return `t${value.toISOString()}`;
  if (typeof value === 'object') return `j${canonicalJson(value)}`;
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- objects are handled above
  const text = String(value);
  switch (kind) {
    case 'decimal':
    case 'int':
      return /^[+-]?\d+(\.\d+)?$/.test(text) ? `n${decimalText(text)}` : `s${text}`;
    case 'float':
      return `n${Number(text)}`;
    case 'datetime':
      return `t${text.replace(/\.(\d*?)0+$/, (_m, d: string) => (d ? `.${d}` : ''))}`;
    case 'json':
      try {
        return `j${canonicalJson(parseJsonExact(text))}`;
      } catch {
        return `s${text}`;
      }
    case 'binary':
      return `x${Buffer.from(text, 'utf8').toString('hex')}`;
    default:
      return typeof value === 'number' || typeof value === 'bigint' ? `n${text}` : `s${text}`;
  }
}

/** Equality of two values under a kind; the same value read twice (the usual case) is decided without normalizing. */
export function sameValue(x: unknown, y: unknown, kind?: ColumnKind): boolean {
  if (x === y) return true; // normalize is a function of (value, kind): identical values are equal under every kind
  if (Buffer.isBuffer(x) && Buffer.isBuffer(y)) return x.equals(y);
  return normalize(x, kind) === normalize(y, kind);
}

/** Columns whose values differ between two rows (union of both rows' columns, `a`'s first). */
export function diffColumns(a: Record<string, unknown>, b: Record<string, unknown>, kinds: ColumnKinds = {}): string[] {
  const out: string[] = [];
  for (const c of Object.keys(a)) if (!sameValue(a[c], b[c], kinds[c])) out.push(c);
  for (const c of Object.keys(b)) if (!Object.hasOwn(a, c) && !sameValue(undefined, b[c], kinds[c])) out.push(c);
  return out;
}

export function rowsEqual(a: Record<string, unknown>, b: Record<string, unknown>, kinds: ColumnKinds = {}): boolean {
  return diffColumns(a, b, kinds).length === 0;
}

/**
 * Classifies the rows of target tables against the source rows routed to them, by record key: a target row
 * without its source row there is `extra`, one whose columns differ is `different` (naming the columns), and
 * a source row that no target table held is `missing`. Tables are named as dirty rows name them
 * (`database.table`).
 */
export class RowComparison {
  readonly different: DirtyRow[] = [];
  readonly extra: DirtyRow[] = [];
  /** Source rows by table and record key. */
  private readonly source = new Map<string, { target: string; row: Row }>();
  private readonly seen = new Set<string>();

  constructor(
    private readonly recordKey: readonly string[],
    private readonly kinds: ColumnKinds = {},
  ) {}

  private id(target: string, row: Row): string {
    return `${target}|${recordKeyId(this.recordKey.map((k) => row[k]))}`;
  }

  /** A source row that routes to `target`. */
  addSource(target: string, row: Row): void {
    this.source.set(this.id(target, row), { target, row });
  }

  /** The rows `target` holds in the compared range. */
  compareTarget(target: string, rows: readonly Row[]): void {
    for (const r of rows) {
      const id = this.id(target, r);
      const s = this.source.get(id);
      const key = this.recordKey.map((k) => r[k]);
      if (!s) this.extra.push({ target, key, kind: 'extra' });
      else {
        this.seen.add(id);
        const columns = diffColumns(s.row, r, this.kinds);
        if (columns.length) this.different.push({ target, key, kind: 'different', columns });
      }
    }
  }

  /** Source rows that no compared target table held (after every table was compared), in the order they were added. */
  missing(): DirtyRow[] {
    const out: DirtyRow[] = [];
    for (const [id, s] of this.source) if (!this.seen.has(id)) out.push({ target: s.target, key: this.recordKey.map((k) => s.row[k]), kind: 'missing' });
    return out;
  }
}
