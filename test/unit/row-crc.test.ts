import { describe, expect, it } from 'vitest';
import { rowCrcExpr, selectList } from '../../lambdas/core/sql.js';

describe('rowCrcExpr', () => {
  it('puts short columns into the row string length-prefixed, so NULL, empty and any value differ and no value can pass for a separator', () => {
    expect(rowCrcExpr(['a', 'b'], { a: 'short', b: 'short' })).toBe(
      "CRC32(CONCAT_WS('|', IFNULL(CONCAT(OCTET_LENGTH(`a`), ':', `a`), 'n'), IFNULL(CONCAT(OCTET_LENGTH(`b`), ':', `b`), 'n')))",
    );
  });

  it('takes the CRC32 of any other column on its own (TEXT, BLOB, JSON, unknown): no long value is ever concatenated', () => {
    const sql = rowCrcExpr(['id', 'payload', 'note'], { id: 'short' });
    expect(sql).not.toMatch(/HEX\(/i);
    expect(sql.match(/IFNULL\(CRC32\(`(payload|note)`\), 'n'\)/g)).toHaveLength(2);
    expect(sql).toContain("IFNULL(CONCAT(OCTET_LENGTH(`id`), ':', `id`), 'n')");
    // Without kinds every column takes the safe path.
    expect(rowCrcExpr(['x']).match(/CRC32\(`x`\)/g)).toHaveLength(1);
  });

  it('reads FLOAT through DOUBLE, in the checksum and in the select list', () => {
    expect(rowCrcExpr(['f'], { f: 'float-single' })).toContain("CONCAT(OCTET_LENGTH((`f` + 0e0)), ':', (`f` + 0e0))");
    expect(selectList(['id', 'f'], { id: 'short', f: 'float-single' })).toBe('`id`, (`f` + 0e0) AS `f`');
  });

  it('is column-order sensitive and escapes identifiers', () => {
    expect(rowCrcExpr(['a', 'b'])).not.toBe(rowCrcExpr(['b', 'a']));
    expect(rowCrcExpr(['we`ird'])).toContain('`we``ird`');
  });
});
