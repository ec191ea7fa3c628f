/**
 * Row equality across MySQL types, pure. Values arrive as mysql2 returns them with our connection options:
 * DATETIME/DATE/TIMESTAMP as text (exact fractional seconds), DECIMAL and BIGINT as text, JSON as text,
 * BLOB/BINARY as Buffer, NULL as null.
 */

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

function canonicalJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonicalJson);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v as object)
        .sort()
        .map((k) => [k, canonicalJson((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
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
  if (typeof value === 'object') return `j${JSON.stringify(canonicalJson(value))}`;
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
        return `j${JSON.stringify(canonicalJson(JSON.parse(text)))}`;
      } catch {
        return `s${text}`;
      }
    case 'binary':
      return `x${Buffer.from(text, 'utf8').toString('hex')}`;
    default:
      return typeof value === 'number' || typeof value === 'bigint' ? `n${text}` : `s${text}`;
  }
}

/** Columns whose values differ between two rows (union of both rows' columns). */
export function diffColumns(a: Record<string, unknown>, b: Record<string, unknown>, kinds: ColumnKinds = {}): string[] {
  const cols = new Set([...Object.keys(a), ...Object.keys(b)]);
  const out: string[] = [];
  for (const c of cols) if (normalize(a[c], kinds[c]) !== normalize(b[c], kinds[c])) out.push(c);
  return out;
}

export function rowsEqual(a: Record<string, unknown>, b: Record<string, unknown>, kinds: ColumnKinds = {}): boolean {
  return diffColumns(a, b, kinds).length === 0;
}
