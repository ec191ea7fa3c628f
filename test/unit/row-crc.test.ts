import { describe, expect, it } from 'vitest';
import { rowCrcExpr, selectList } from '../../lambdas/core/sql.js';
import { readKindsOf } from '../../lambdas/adapters/mysql/schema.js';

describe('rowCrcExpr', () => {
  it('puts short columns into the row string length-prefixed, so NULL, empty and any value differ and no value can pass for a separator', () => {
    expect(rowCrcExpr(['a', 'b'], { a: 'short', b: 'short' })).toBe(
      "CRC32(CONCAT_WS(X'FF', IFNULL(CONCAT(OCTET_LENGTH(`a`), ':', `a`), 'n'), IFNULL(CONCAT(OCTET_LENGTH(`b`), ':', `b`), 'n')))",
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

  it('puts plain columns (numbers, dates: no separator, never `n`) into the row string as they are', () => {
    expect(rowCrcExpr(['id', 'name', 'at'], { id: 'plain', name: 'short', at: 'plain' })).toBe(
      "CRC32(CONCAT_WS(X'FF', IFNULL(`id`, 'n'), IFNULL(CONCAT(OCTET_LENGTH(`name`), ':', `name`), 'n'), IFNULL(`at`, 'n')))",
    );
  });

  it('puts UTF-8 strings in as their bytes, 0xFE for NULL: well-formed UTF-8 never holds 0xFE or the separator 0xFF', () => {
    expect(rowCrcExpr(['id', 'name'], { id: 'plain', name: 'utf8' })).toBe("CRC32(CONCAT_WS(X'FF', IFNULL(`id`, 'n'), IFNULL(CONVERT(`name` USING binary), X'FE')))");
  });

  it('reads FLOAT through DOUBLE, in the checksum and in the select list', () => {
    expect(rowCrcExpr(['f'], { f: 'float-single' })).toContain("IFNULL((`f` + 0e0), 'n')");
    expect(selectList(['id', 'f'], { id: 'short', f: 'float-single' })).toBe('`id`, (`f` + 0e0) AS `f`');
  });

  it('is column-order sensitive and escapes identifiers', () => {
    expect(rowCrcExpr(['a', 'b'])).not.toBe(rowCrcExpr(['b', 'a']));
    expect(rowCrcExpr(['we`ird'])).toContain('`we``ird`');
  });
});

describe('readKindsOf', () => {
  it.each([
    ['bigint', 'plain'], ['decimal', 'plain'], ['double', 'plain'], ['datetime', 'plain'], ['time', 'plain'], ['year', 'plain'], ['uuid', 'plain'],
    ['float', 'float-single'],
    ['varchar', 'short'], ['char', 'short'], ['varbinary', 'short'], ['bit', 'short'], ['enum', 'short'], ['set', 'short'],
    ['text', undefined], ['longblob', undefined], ['json', undefined], ['geometry', undefined],
  ])('%s → %s', (dataType, kind) => {
    expect(readKindsOf([{ name: 'c', dataType, charset: null } as never])['c']).toBe(kind);
  });

  it.each([
    ['varchar', 'utf8mb4', 'utf8'], ['char', 'utf8mb3', 'utf8'], ['enum', 'utf8', 'utf8'], ['set', 'UTF8MB4', 'utf8'],
    ['varchar', 'latin1', 'short'], ['char', 'binary', 'short'], ['varchar', 'utf16', 'short'], ['text', 'utf8mb4', undefined],
  ])('%s in %s → %s', (dataType, charset, kind) => {
    expect(readKindsOf([{ name: 'c', dataType, charset } as never])['c']).toBe(kind);
  });
});
