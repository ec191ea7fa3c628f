import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import mysql from 'mysql2/promise';
import { valuesStatement } from '../../lambdas/adapters/mysql/values.js';
import { applyUpsertSql, applyUpsertTail, insertHead } from '../../lambdas/core/sql.js';

const args = { database: 'd', table: 't', columns: ['id', 'a', 'b'], recordKey: ['id'], versionColumn: 'b' };
/** What mysql2 sends for `applyUpsertSql` with these rows bound (`VALUES ?`), as utf8 bytes. */
const viaMysql2 = (rows: unknown[][]) => Buffer.from(mysql.format(applyUpsertSql(args), [rows] as never), 'utf8');
const written = (rows: unknown[][]) => valuesStatement(insertHead(args), rows, applyUpsertTail(args));

describe('valuesStatement', () => {
  it('writes exactly the bytes mysql2 formats for strings, numbers and NULLs', () => {
    const rows = [
      ['1', 'plain', 4],
      ['2', "it's \\ \"quoted\"\n\r\t\0\b\x1a", -1.5],
      ['3', null, 1e21],
      ['4', 'Иван 王芳 Zoë 😀', 0],
      ['5', '', null],
    ];
    expect(written(rows)).toEqual(viaMysql2(rows));
  });

  it('agrees with mysql2 on any rows of strings (any code points), numbers and NULLs, and grows past its buffer', () => {
    const value = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.constant(null));
    fc.assert(
      fc.property(fc.array(fc.tuple(value, value, value), { minLength: 1, maxLength: 30 }), (rows) => {
        expect(written(rows)).toEqual(viaMysql2(rows));
      }),
      { numRuns: 300 },
    );
    // A statement larger than the reused 1 MB buffer, of 3-byte characters.
    const big = Array.from({ length: 3000 }, (_, i) => [String(i), '王'.repeat(300), i]);
    expect(written(big)).toEqual(viaMysql2(big));
    expect(written([['1', 'after a big one', 1]])).toEqual(viaMysql2([['1', 'after a big one', 1]]));
  });

  it('leaves rows with any other value (Buffer, boolean, Date) to mysql2', () => {
    expect(written([['1', Buffer.from('x'), 1]])).toBeUndefined();
    expect(written([['1', 'a', 1], ['2', true, 1]])).toBeUndefined();
    expect(written([['1', new Date(0), 1]])).toBeUndefined();
  });
});
