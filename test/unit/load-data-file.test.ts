import { describe, expect, it } from 'vitest';
import { isLoadRefused, loadDataFile, loadOutcome } from '../../lambdas/adapters/mysql/load-data.js';
import { statementBytes, upsertStats } from '../../lambdas/adapters/mysql/target.js';

describe('loadDataFile', () => {
  it('separates fields by tabs and rows by newlines, writes NULL (and undefined) as \\N and other values as their text', () => {
    expect(loadDataFile([[1, 'a', null], [2n, undefined, 1.5]]).toString('utf8')).toBe('1\ta\t\\N\n2\t\\N\t1.5\n');
  });

  it('escapes backslash, tab, newline and NUL in text, and nothing else', () => {
    expect(loadDataFile([['a\\b\tc\nd\0e', "it's \"x\",y\r"]]).toString('utf8')).toBe("a\\\\b\\tc\\nd\\0e\tit's \"x\",y\r\n");
  });

  it('writes text as UTF-8', () => {
    expect(loadDataFile([['żółw 🐢']])).toEqual(Buffer.from('żółw 🐢\n', 'utf8'));
  });

  it('writes binary values as their raw bytes, escaping only the four special bytes', () => {
    const bin = Buffer.from([0x00, 0x09, 0x0a, 0x5c, 0xff, 0x80, 0x4e]);
    const file = loadDataFile([[7, bin, 'z'], [8, Buffer.alloc(0), Buffer.from([0xc3])]]);
    expect(file).toEqual(
      Buffer.concat([
        Buffer.from('7\t'),
        Buffer.from([0x5c, 0x30, 0x5c, 0x74, 0x5c, 0x6e, 0x5c, 0x5c, 0xff, 0x80, 0x4e]),
        Buffer.from('\tz\n8\t\t'),
        Buffer.from([0xc3]),
        Buffer.from('\n'),
      ]),
    );
  });

  it('is empty for no rows, and one empty field for a row of one empty string', () => {
    expect(loadDataFile([]).length).toBe(0);
    expect(loadDataFile([['']]).toString()).toBe('\n');
  });
});

describe('loadOutcome', () => {
  it('reads records, skipped and warnings from the OK packet; NaN when a count is absent', () => {
    expect(loadOutcome('Records: 3  Deleted: 0  Skipped: 1  Warnings: 2')).toEqual({ records: 3, skipped: 1, warnings: 2 });
    expect(loadOutcome(undefined)).toEqual({ records: NaN, skipped: NaN, warnings: NaN });
  });
});

describe('isLoadRefused', () => {
  it('knows the refusals by code and, for codes mysql2 has no name for, by number', () => {
    expect(isLoadRefused({ code: 'ER_NOT_ALLOWED_COMMAND' })).toBe(true);
    expect(isLoadRefused({ code: 'ER_CLIENT_LOCAL_FILES_DISABLED' })).toBe(true);
    expect(isLoadRefused({ code: undefined, errno: 4166 })).toBe(true);
    expect(isLoadRefused({ code: 'ER_DUP_ENTRY', errno: 1062 })).toBe(false);
    expect(isLoadRefused(new Error('x'))).toBe(false);
  });
});

describe('statementBytes', () => {
  it('puts the literals between head and tail, separated by commas, bytes untouched', () => {
    const lits = [Buffer.from("(1,'a')"), Buffer.from([0x28, 0xff, 0x29]), Buffer.from('(3,NULL)')];
    expect(statementBytes('INSERT INTO t VALUES ', lits, ' ON DUPLICATE KEY UPDATE id = id')).toEqual(
      Buffer.concat([Buffer.from("INSERT INTO t VALUES (1,'a'),"), Buffer.from([0x28, 0xff, 0x29]), Buffer.from(',(3,NULL) ON DUPLICATE KEY UPDATE id = id')]),
    );
  });

  it('without a tail ends at the last literal; one literal has no comma; the head is UTF-8', () => {
    expect(statementBytes('INSERT INTO `ż` VALUES ', [Buffer.from('(1)')]).toString('utf8')).toBe('INSERT INTO `ż` VALUES (1)');
    expect(statementBytes('H ', []).toString()).toBe('H ');
  });
});

describe('upsertStats', () => {
  it.each([
    // [affectedRows, info, rows, expected]
    [3, '', 3, { inserted: 3, updated: 0, skipped: 0 }],
    [4, 'Records: 3  Duplicates: 1  Warnings: 0', 3, { inserted: 2, updated: 1, skipped: 0 }],
    [1, 'Records: 3  Duplicates: 0  Warnings: 0', 3, { inserted: 1, updated: 0, skipped: 2 }],
    [2, '', 1, { inserted: 0, updated: 1, skipped: 0 }],
    [0, '', 1, { inserted: 0, updated: 0, skipped: 1 }],
  ] as const)('affectedRows %i, info %j, %i rows → %j', (affectedRows, info, rows, expected) => {
    expect(upsertStats({ affectedRows, info }, rows)).toEqual(expected);
  });
});
