import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { configJsonSchema, expand, parseConfig, recordKeyOf } from '../../lambdas/core/config.js';
import { ConfigError } from '../../lambdas/core/errors.js';
import { copyUpsertSql, mysqlTime, pageQuery, q, qt, windowPredicates } from '../../lambdas/core/sql.js';

type Json = Record<string, unknown>;

function minimal(): Json {
  return {
    migrationId: 'orders-2026',
    source: { database: 'orders' },
    target: { databases: 4, databasePattern: 'order_db_{db}' },
    tables: [{ name: 'order_info', shardKeys: ['order_no', 'user_id'], targetTable: 'order_info_{table}', tablesPerDb: 8 }],
  };
}

/** A minimal config with one change applied to a deep copy. */
function withChange(change: (c: Json & { tables: Json[]; target: Json; source: Json }) => void): Json {
  const c = structuredClone(minimal()) as Json & { tables: Json[]; target: Json; source: Json };
  change(c);
  return c;
}

function configError(raw: unknown): ConfigError {
  try {
    parseConfig(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected ConfigError');
}

describe('parseConfig', () => {
  it('accepts a minimal config and fills defaults', () => {
    const c = parseConfig(minimal());
    expect(c.routing).toEqual({ algorithm: 'spread' });
    expect(c.source).toMatchObject({ host: '127.0.0.1', port: 3306, user: 'root', database: 'orders', poolSize: 8 });
    expect(c.tables[0]).toMatchObject({ name: 'order_info', scrollKey: ['id'], shardKeys: ['order_no', 'user_id'], tablesPerDb: 8 });
    expect(recordKeyOf(c.tables[0]!)).toEqual(['id']);
  });

  it('takes a composite scroll key as its columns in order, and the record key defaults to them', () => {
    const c = parseConfig(withChange((j) => (j.tables[0]!.scrollKey = ['order_id', 'line_no'])));
    expect(c.tables[0]!.scrollKey).toEqual(['order_id', 'line_no']);
    expect(recordKeyOf(c.tables[0]!)).toEqual(['order_id', 'line_no']);
  });

  it('fills copy defaults when copy is given empty', () => {
    const c = parseConfig({ ...minimal(), copy: {} });
    expect(c.copy).toEqual({ pageSize: 20_000, pageBytes: 8 * 1024 * 1024, segments: 8, concurrency: 4, writeConcurrency: 8, writeMethod: 'auto', rowLiterals: true, maxRowsPerSec: 0, timeBudgetSeconds: 600, leaseSeconds: 120 });
  });

  // Regression: zod 4's `.default(x)` returns `x` as is without parsing it; `.prefault({})` applies the defaults.
  it('fills copy defaults when copy is omitted', () => {
    const c = parseConfig(minimal());
    expect(c.copy.pageSize).toBe(20_000);
    expect(c.copy.pageBytes).toBe(8 * 1024 * 1024);
    expect(c.copy.segments).toBe(8);
  });

  it('fills target.connection defaults when connection is omitted', () => {
    const c = parseConfig(minimal());
    expect(c.target.connection).toMatchObject({ host: '127.0.0.1', port: 3306, user: 'root', poolSize: 8 });
  });

  it('keeps explicit values', () => {
    const c = parseConfig({
      ...minimal(),
      routing: { algorithm: 'last3-mod' },
      copy: { pageSize: 100, segments: 3 },
      tables: [
        {
          name: 'order_info',
          scrollKey: 'order_id',
          recordKey: ['order_id', 'user_id'],
          shardKeys: ['user_id'],
          versionColumn: 'update_time',
          timeColumn: 'create_time',
          window: { from: '2026-01-01', to: '2026-02-01T00:00:00Z' },
          targetTable: 'order_info_{table}',
          tablesPerDb: 2,
        },
      ],
    });
    expect(c.routing.algorithm).toBe('last3-mod');
    expect(c.copy).toMatchObject({ pageSize: 100, segments: 3, concurrency: 4 });
    expect(recordKeyOf(c.tables[0]!)).toEqual(['order_id', 'user_id']);
    expect(c.tables[0]!.window).toEqual({ from: '2026-01-01', to: '2026-02-01T00:00:00Z' });
  });

  it('accepts custom routing with a module', () => {
    expect(parseConfig({ ...minimal(), routing: { algorithm: 'custom', module: './route.js' } }).routing).toEqual({ algorithm: 'custom', module: './route.js' });
  });

  it('accepts target.connections with one entry per database', () => {
    const c = parseConfig(withChange((x) => (x.target.connections = [{}, {}, {}, { host: 'db3', port: 3307 }])));
    expect(c.target.connections).toHaveLength(4);
    expect(c.target.connections![0]).toMatchObject({ host: '127.0.0.1', port: 3306 });
    expect(c.target.connections![3]).toMatchObject({ host: 'db3', port: 3307 });
  });

  it.each<[string, Json, RegExp]>([
    ['scrollKey of the wrong type', withChange((c) => (c.tables[0]!.scrollKey = 42)), /tables\.0\.scrollKey:/],
    ['scroll key with a backtick', withChange((c) => (c.tables[0]!.scrollKey = 'id`')), /tables\.0\.scrollKey: must be a plain MySQL identifier/],
    ['composite scroll key with a bad column', withChange((c) => (c.tables[0]!.scrollKey = ['order_id', 'line no'])), /tables\.0\.scrollKey\.1: must be a plain MySQL identifier/],
    ['empty composite scroll key', withChange((c) => (c.tables[0]!.scrollKey = [])), /tables\.0\.scrollKey:/],
    ['a column twice in the scroll key', withChange((c) => (c.tables[0]!.scrollKey = ['order_id', 'line_no', 'order_id'])), /tables\.0\.scrollKey: column order_id is in the scroll key twice/],
    ['table name with a space', withChange((c) => (c.tables[0]!.name = 'order info')), /tables\.0\.name: must be a plain MySQL identifier/],
    ['table name with a backtick', withChange((c) => (c.tables[0]!.name = 'order`; DROP TABLE x; --')), /tables\.0\.name: must be a plain MySQL identifier/],
    ['identifier starting with a digit', withChange((c) => (c.tables[0]!.name = '1orders')), /tables\.0\.name:/],
    ['identifier longer than 64', withChange((c) => (c.tables[0]!.name = 'a'.repeat(65))), /tables\.0\.name:/],
    ['shard key with a space', withChange((c) => (c.tables[0]!.shardKeys = ['order_no', 'user id'])), /tables\.0\.shardKeys\.1: must be a plain MySQL identifier/],
    ['no shard keys', withChange((c) => (c.tables[0]!.shardKeys = [])), /tables\.0\.shardKeys:/],
    ['source database with a backtick', withChange((c) => (c.source.database = 'ord`ers')), /source\.database: must be a plain MySQL identifier/],
    ['databasePattern without {db}', withChange((c) => (c.target.databasePattern = 'order_db')), /target\.databasePattern: must contain \{db\}/],
    ['databasePattern with {table} instead', withChange((c) => (c.target.databasePattern = 'order_db_{table}')), /target\.databasePattern: must contain \{db\}/],
    ['databasePattern expanding to a non-identifier', withChange((c) => (c.target.databasePattern = 'order-db-{db}')), /target\.databasePattern: must expand to a plain MySQL identifier/],
    ['databasePattern with a backtick', withChange((c) => (c.target.databasePattern = 'db`{db}')), /target\.databasePattern: must expand to a plain MySQL identifier/],
    ['targetTable without {table}', withChange((c) => (c.tables[0]!.targetTable = 'order_info')), /tables\.0\.targetTable: must contain \{table\}/],
    ['window without timeColumn', withChange((c) => (c.tables[0]!.window = { from: '2026-01-01' })), /tables\.0\.window: a window needs timeColumn/],
    ['window.from equal to to', withChange((c) => Object.assign(c.tables[0]!, { timeColumn: 'ct', window: { from: '2026-01-01', to: '2026-01-01' } })), /tables\.0\.window: window\.from must be before window\.to/],
    ['window.from after to', withChange((c) => Object.assign(c.tables[0]!, { timeColumn: 'ct', window: { from: '2026-02-01T00:00:00Z', to: '2026-01-01' } })), /tables\.0\.window: window\.from must be before window\.to/],
    ['window with a non-date', withChange((c) => Object.assign(c.tables[0]!, { timeColumn: 'ct', window: { from: 'yesterday' } })), /tables\.0\.window\.from:/],
    ['window with an unknown key', withChange((c) => Object.assign(c.tables[0]!, { timeColumn: 'ct', window: { since: '2026-01-01' } })), /tables\.0\.window: Unrecognized key/],
    ['duplicate table names', withChange((c) => c.tables.push({ ...c.tables[0]! })), /tables\.1\.name: duplicate table order_info/],
    ['connections length != databases', withChange((c) => (c.target.connections = [{}, {}])), /target\.connections: has 2 entries but databases is 4/],
    ['custom routing without module', { ...minimal(), routing: { algorithm: 'custom' } }, /routing\.module: custom routing needs a module/],
    ['unknown routing algorithm', { ...minimal(), routing: { algorithm: 'hash' } }, /routing\.algorithm:/],
    ['unknown top-level key (strict)', { ...minimal(), extra: true }, /\(root\): Unrecognized key: "extra"/],
    ['unknown table key (strict)', withChange((c) => (c.tables[0]!.shardKey = 'order_no')), /tables\.0: Unrecognized key: "shardKey"/],
    ['unknown target key (strict)', withChange((c) => (c.target.pattern = 'x')), /target: Unrecognized key: "pattern"/],
    ['unknown copy key (strict)', { ...minimal(), copy: { pagesize: 10 } }, /copy: Unrecognized key: "pagesize"/],
    ['no tables', withChange((c) => (c.tables = [])), /tables:/],
    ['tablesPerDb 0', withChange((c) => (c.tables[0]!.tablesPerDb = 0)), /tables\.0\.tablesPerDb:/],
    ['tablesPerDb not an integer', withChange((c) => (c.tables[0]!.tablesPerDb = 2.5)), /tables\.0\.tablesPerDb:/],
    ['databases 0', withChange((c) => (c.target.databases = 0)), /target\.databases:/],
    ['copy.pageSize 0', { ...minimal(), copy: { pageSize: 0 } }, /copy\.pageSize:/],
    ['copy.pageBytes below 64 KiB', { ...minimal(), copy: { pageBytes: 1000 } }, /copy\.pageBytes:/],
    ['port out of range', withChange((c) => (c.source.port = 70000)), /source\.port:/],
    ['passwordEnv lowercase', withChange((c) => (c.source.passwordEnv = 'db_password')), /source\.passwordEnv:/],
    ['migrationId with a slash', { ...minimal(), migrationId: 'a/b' }, /migrationId:/],
  ])('rejects %s, naming the field', (_name, raw, message) => {
    const err = configError(raw);
    expect(err.name).toBe('ConfigError');
    expect(err.message).toMatch(/^invalid config/);
    expect(err.message).toMatch(message);
    expect(err.issues.some((i) => message.test(i))).toBe(true);
  });

  it('names every field at fault at once', () => {
    const err = configError(withChange((c) => {
      c.tables[0]!.scrollKey = 'bad key';
      c.target.databasePattern = 'no_placeholder';
    }));
    expect(err.issues.some((i) => i.startsWith('tables.0.scrollKey:'))).toBe(true);
    expect(err.issues.some((i) => i.startsWith('target.databasePattern:'))).toBe(true);
  });

  it('names the origin in the message', () => {
    expect(() => parseConfig({}, 'migration.yaml')).toThrow(/^invalid migration\.yaml/);
  });

  it.each([null, undefined, 42, 'config', []])('rejects a non-object %j', (raw) => {
    expect(() => parseConfig(raw)).toThrow(ConfigError);
  });

  // Regression, fixed (lambdas/core/config.ts, `pattern`): a pattern is checked only for index 0, so a long pattern that is a
  // valid identifier for `{db}` = 0 expands to a name over MySQL's 64-character limit for db 10 and above.
  it('rejects a databasePattern that expands beyond 64 characters for some database index', () => {
    const pattern = `${'d'.repeat(63)}{db}`;
    const cfg = withChange((c) => Object.assign(c.target, { databasePattern: pattern, databases: 11 }));
    expect(() => parseConfig(cfg)).toThrow(ConfigError);
  });
});

describe('configJsonSchema', () => {
  it('describes the config input shape', () => {
    const schema = configJsonSchema() as { type?: string; properties?: Record<string, unknown>; required?: string[] };
    expect(schema).toBeTypeOf('object');
    expect(schema.properties).toHaveProperty('tables');
    expect(schema.properties).toHaveProperty('source');
    expect(schema.properties).toHaveProperty('target');
    expect(schema.properties).toHaveProperty('copy');
    // input shape: defaults may be omitted
    expect(schema.required).toEqual(expect.arrayContaining(['migrationId', 'source', 'target', 'tables']));
    expect(schema.required ?? []).not.toContain('copy');
    expect(schema.required ?? []).not.toContain('routing');
    expect(() => JSON.stringify(schema)).not.toThrow();
  });
});

describe('expand', () => {
  it.each<[string, 'db' | 'table', number, string]>([
    ['order_db_{db}', 'db', 0, 'order_db_0'],
    ['order_db_{db}', 'db', 17, 'order_db_17'],
    ['order_info_{table}', 'table', 1023, 'order_info_1023'],
    ['x{db}_{db}', 'db', 3, 'x3_3'],
    ['order_info_{table}', 'db', 3, 'order_info_{table}'],
  ])('expand(%j, %s, %i) = %j', (pattern, placeholder, index, expected) => {
    expect(expand(pattern, placeholder, index)).toBe(expected);
  });
});

describe('sql', () => {
  describe('q / qt', () => {
    it.each([
      ['id', '`id`'],
      ['a`b', '`a``b`'],
      ['``', '``````'],
      ['x` ; DROP TABLE t; --', '`x`` ; DROP TABLE t; --`'],
    ])('q(%j) = %j', (input, expected) => {
      expect(q(input)).toBe(expected);
    });

    it('escapes every backtick (the quoted name always parses back to the input)', () => {
      fc.assert(
        fc.property(fc.string(), (name) => {
          const quoted = q(name);
          expect(quoted.startsWith('`') && quoted.endsWith('`')).toBe(true);
          const body = quoted.slice(1, -1);
          expect(body.replaceAll('``', '')).not.toContain('`');
          expect(body.replaceAll('``', '`')).toBe(name);
        }),
      );
    });

    it('qt joins database and table', () => {
      expect(qt('order_db_0', 'order_info_1')).toBe('`order_db_0`.`order_info_1`');
    });
  });

  describe('pageQuery', () => {
    const base = { database: 'orders', table: 'order_info', columns: ['id', 'order_no', 'create_time'], scrollKey: ['id'] } as const;

    it('first page of an unbounded segment', () => {
      expect(pageQuery({ ...base, after: null, upTo: null, limit: 5000 })).toEqual({
        sql: 'SELECT `id`, `order_no`, `create_time` FROM `orders`.`order_info` ORDER BY `id` LIMIT 5000',
        params: [],
      });
    });

    it('binds the cursor, the upper bound and the window as params', () => {
      const r = pageQuery({ ...base, after: ['100'], upTo: ['200'], timeColumn: 'create_time', window: { from: '2026-01-01', to: '2026-02-01T08:00:00+08:00' }, limit: 10 });
      expect(r.sql).toBe(
        'SELECT `id`, `order_no`, `create_time` FROM `orders`.`order_info` WHERE `id` > ? AND `id` <= ? AND `create_time` >= ? AND `create_time` < ? ORDER BY `id` LIMIT 10',
      );
      expect(r.params).toEqual(['100', '200', '2026-01-01 00:00:00', '2026-02-01 00:00:00.000']);
    });

    // How each literal kind is rendered, in a LOAD DATA line and in an INSERT literal.
    it.each([
      ['number', "IFNULL(`c`, 'NULL')", "IFNULL(`c`, 'NULL')"],
      ['temporal', "IFNULL(`c`, 'NULL')", "IF(`c` IS NULL, 'NULL', QUOTE(CONVERT(`c` USING utf8mb4)))"],
      ['text', "IF(`c` IS NULL, 'NULL', QUOTE(CONVERT(`c` USING utf8mb4)))", "IF(`c` IS NULL, 'NULL', QUOTE(CONVERT(`c` USING utf8mb4)))"],
      // CONVERT … USING binary, not CAST … AS BINARY: a cast past max_allowed_packet is NULL, which QUOTE() turns into the word NULL.
      ['utf8', "IF(`c` IS NULL, 'NULL', QUOTE(CONVERT(`c` USING binary)))", "IF(`c` IS NULL, 'NULL', QUOTE(CONVERT(`c` USING binary)))"],
      ['binary', "IF(`c` IS NULL, 'NULL', QUOTE(`c`))", "IF(`c` IS NULL, 'NULL', CONCAT('X''', HEX(`c`), ''''))"],
    ] as const)('renders a %s column as %s in a line and %s in a literal', (kind, line, literal) => {
      const page = (as: 'line' | 'literal') => pageQuery({ ...base, columns: ['id'], after: null, upTo: null, limit: 1, render: { as, columns: ['c'], kinds: { c: kind } } }).sql;
      expect(page('line')).toBe(`SELECT \`id\`, CAST(CONCAT(${line}, '\\n') AS BINARY) FROM \`orders\`.\`order_info\` ORDER BY \`id\` LIMIT 1`);
      expect(page('literal')).toBe(`SELECT \`id\`, CAST(CONCAT('(', ${literal}, ')') AS BINARY) FROM \`orders\`.\`order_info\` ORDER BY \`id\` LIMIT 1`);
    });

    it('ignores a window without a time column', () => {
      const r = pageQuery({ ...base, after: [5n], upTo: null, window: { from: '2026-01-01' }, limit: 1 });
      expect(r.sql).toBe('SELECT `id`, `order_no`, `create_time` FROM `orders`.`order_info` WHERE `id` > ? ORDER BY `id` LIMIT 1');
      expect(r.params).toEqual([5n]);
    });

    it('puts LIMIT as an integer', () => {
      expect(pageQuery({ ...base, after: null, upTo: null, limit: 10.9 }).sql).toMatch(/ LIMIT 10$/);
      fc.assert(
        fc.property(fc.double({ min: 1, max: 1e6, noNaN: true }), (limit) => {
          expect(pageQuery({ ...base, after: null, upTo: null, limit }).sql).toMatch(/ LIMIT \d+$/);
        }),
      );
    });

    it('never interpolates values: any cursor text only appears in params', () => {
      fc.assert(
        fc.property(fc.string({ minLength: 1 }), fc.option(fc.string({ minLength: 1 }), { nil: null }), (after, upTo) => {
          const marker = `\u0001${after}`;
          const r = pageQuery({ ...base, after: [marker], upTo: upTo === null ? null : [upTo], limit: 100 });
          expect(r.sql).not.toContain(marker);
          expect(r.params).toEqual(upTo === null ? [marker] : [marker, upTo]);
          expect(r.sql.split('?').length - 1).toBe(r.params.length);
        }),
      );
      const evil = "1; DROP TABLE order_info; -- '";
      const r = pageQuery({ ...base, after: [evil], upTo: [evil], limit: 1 });
      expect(r.sql).not.toContain('DROP');
      expect(r.params).toEqual([evil, evil]);
    });

    it('escapes identifiers', () => {
      const r = pageQuery({ database: 'd`b', table: 't`', columns: ['c`'], scrollKey: ['k`'], after: null, upTo: null, limit: 1 });
      expect(r.sql).toBe('SELECT `c``` FROM `d``b`.`t``` ORDER BY `k``` LIMIT 1');
    });
  });

  describe('windowPredicates / mysqlTime', () => {
    it.each([
      ['2026-01-01', '2026-01-01 00:00:00'],
      ['2026-01-01T10:20:30', '2026-01-01 10:20:30'],
      ['2026-01-01T10:20:30.5', '2026-01-01 10:20:30.5'],
      ['2026-01-01T10:20:30Z', '2026-01-01 10:20:30.000'],
      ['2026-01-01T10:20:30+02:00', '2026-01-01 08:20:30.000'],
      ['2026-01-01T01:00:00-0130', '2026-01-01 02:30:00.000'],
    ])('mysqlTime(%j) = %j', (iso, expected) => {
      expect(mysqlTime(iso)).toBe(expected);
    });

    it('only the bounds given', () => {
      const params: unknown[] = [];
      expect(windowPredicates('ct', { to: '2026-01-01' }, params)).toEqual(['`ct` < ?']);
      expect(params).toEqual(['2026-01-01 00:00:00']);
      expect(windowPredicates(undefined, { from: '2026-01-01' }, params)).toEqual([]);
      expect(windowPredicates('ct', undefined, params)).toEqual([]);
      expect(params).toHaveLength(1);
    });
  });

  describe('copyUpsertSql', () => {
    it('without a version column is a no-op update on the first record key', () => {
      expect(copyUpsertSql({ database: 'order_db_1', table: 'order_info_2', columns: ['id', 'order_no', 'amount'], recordKey: ['id'] })).toBe(
        'INSERT INTO `order_db_1`.`order_info_2` (`id`, `order_no`, `amount`) VALUES ? ON DUPLICATE KEY UPDATE `id` = `id`',
      );
      expect(copyUpsertSql({ database: 'd', table: 't', columns: ['a', 'b', 'c'], recordKey: ['b', 'a'], versionColumn: undefined })).toBe(
        'INSERT INTO `d`.`t` (`a`, `b`, `c`) VALUES ? ON DUPLICATE KEY UPDATE `b` = `b`',
      );
    });

    it('with a version column guards every column and assigns the version column last', () => {
      const sql = copyUpsertSql({ database: 'd', table: 't', columns: ['id', 'ver', 'name', 'amount'], recordKey: ['id'], versionColumn: 'ver' });
      const newer = '(VALUES(`ver`) IS NOT NULL AND (`ver` IS NULL OR VALUES(`ver`) > `ver`))';
      expect(sql).toBe(
        'INSERT INTO `d`.`t` (`id`, `ver`, `name`, `amount`) VALUES ? ON DUPLICATE KEY UPDATE ' +
          `\`name\` = IF(${newer}, VALUES(\`name\`), \`name\`), ` +
          `\`amount\` = IF(${newer}, VALUES(\`amount\`), \`amount\`), ` +
          `\`ver\` = IF(${newer}, VALUES(\`ver\`), \`ver\`)`,
      );
    });

    it('never assigns record key columns and always assigns the version column last (property)', () => {
      const identArb = fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/);
      fc.assert(
        fc.property(fc.uniqueArray(identArb, { minLength: 2, maxLength: 10 }), fc.nat(), fc.nat(), (columns, k, v) => {
          const recordKey = [columns[k % columns.length]!];
          const candidates = columns.filter((c) => c !== recordKey[0]);
          const versionColumn = candidates[v % candidates.length]!;
          const sql = copyUpsertSql({ database: 'd', table: 't', columns, recordKey, versionColumn });
          const update = sql.split(' ON DUPLICATE KEY UPDATE ')[1]!;
          const assigned = [...update.matchAll(/(?:^|, )`([^`]+)` = IF\(/g)].map((m) => m[1]);
          expect(assigned).toEqual([...candidates.filter((c) => c !== versionColumn), versionColumn]);
          expect(sql.split('?').length - 1).toBe(1);
        }),
      );
    });
  });
});
