import { describe, expect, it } from 'vitest';
import { rowCrcExpr } from '../../lambdas/core/sql.js';

describe('rowCrcExpr', () => {
  it('takes a CRC32 of each column’s bytes, NULL as a marker no CRC can equal, then a CRC32 of the row', () => {
    expect(rowCrcExpr(['a', 'b'])).toBe("CRC32(CONCAT_WS('|', IFNULL(CRC32(CAST(`a` AS BINARY)), '~'), IFNULL(CRC32(CAST(`b` AS BINARY)), '~')))");
  });

  it('never hex-encodes or concatenates whole values (a string longer than max_allowed_packet becomes NULL)', () => {
    const sql = rowCrcExpr(['id', 'payload', 'note']);
    expect(sql).not.toMatch(/HEX\(/i);
    // Every column value is only ever the argument of CRC32(CAST(… AS BINARY)).
    expect(sql.match(/CRC32\(CAST\(`[^`]+` AS BINARY\)\)/g)).toHaveLength(3);
  });

  it('is column-order sensitive and escapes identifiers', () => {
    expect(rowCrcExpr(['a', 'b'])).not.toBe(rowCrcExpr(['b', 'a']));
    expect(rowCrcExpr(['we`ird'])).toContain('`we``ird`');
  });
});
