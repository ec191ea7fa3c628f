/** The CLI as a user runs it: exit codes, errors naming the field at fault, the `status --json` contract. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { startDynamo } from '../../local/emulators.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Pool } from 'mysql2/promise';
import { seedOrders } from '../../local/seed.js';
import { dropPrefixed, rootPool, testConfig, uniquePrefix } from '../helpers/db.js';

const root = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'reshard-cli-'));

function reshard(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bin/reshard.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let pool: Pool;
const prefix = uniquePrefix('cli');
beforeAll(() => {
  pool = rootPool();
});
afterAll(async () => {
  await dropPrefixed(pool, prefix);
  await pool.end();
  rmSync(work, { recursive: true, force: true });
});

describe('reshard CLI', () => {
  it.each([['switch'], ['switch', '--help'], ['help', 'switch'], ['nope', 'plan', '--help']])('rejects the unknown verb in `reshard %s`, listing the verbs', (...args) => {
    const r = reshard(...args);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`unknown command '${args[0] === 'help' ? args[1] : args[0]}'`);
    expect(r.stderr).toContain('commands: schema, plan, run, retry, verify, cutover, rollback, ddl, capture-source, status, demo');
    expect(r.stdout).toBe('');
  });

  it('prints help (exit 0) for the program and for a verb', () => {
    const main = reshard('--help');
    expect(main.code).toBe(0);
    expect(main.stdout).toMatch(/Usage: reshard/);
    const verb = reshard('plan', '--help');
    expect(verb.code).toBe(0);
    expect(verb.stdout).toMatch(/Usage: reshard plan/);
  });

  it('prints the version of package.json', () => {
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = reshard(flag);
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(version);
    }
  });

  it('rejects an invalid config before touching anything, naming every field at fault', () => {
    const file = join(work, 'bad.yaml');
    writeFileSync(file, ['migrationId: x', 'source: { database: "src`; DROP" }', 'target: { databases: 2, databasePattern: "db" }', 'tables:', '  - name: order_info', '    shardKeys: []', '    targetTable: t_{table}', '    tablesPerDb: 4', '    colour: red'].join('\n'));
    const r = reshard('plan', '--config', file);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ConfigError: invalid');
    expect(r.stderr).toMatch(/source\.database: must be a plain MySQL identifier/);
    expect(r.stderr).toMatch(/target\.databasePattern: must contain \{db\} \(it names 2 databases\)/);
    expect(r.stderr).toMatch(/tables\.0\.shardKeys: .*>=1/i);
    expect(r.stderr).toMatch(/tables\.0: Unrecognized key: "colour"/);
  });

  it('capture-source accept: refuses to guess where capture goes on, and a position that is not FILE:POS', () => {
    const config = testConfig(`${prefix}_cs`, { items: false });
    const file = join(work, 'cdc.json');
    writeFileSync(file, JSON.stringify({ ...config, cdc: { ...config.cdc, enabled: true } }));
    const none = reshard('capture-source', 'accept', '--config', file);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('error: say where capture goes on: --gtid [POSITION], --at FILE:POS, --keep or --now');
    const bad = reshard('capture-source', 'accept', '--config', file, '--at', 'binlog.000001');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('error: --at binlog.000001 is not FILE:POS (a binlog file name and a byte offset of at least 4)');
    const both = reshard('capture-source', 'accept', '--config', file, '--keep', '--now');
    expect(both.code).toBe(1);
    expect(both.stderr).toContain("option '--keep' cannot be used with option '--now'");
    writeFileSync(file, JSON.stringify(config));
    expect(reshard('capture-source', 'accept', '--config', file, '--now').stderr).toContain('error: cdc.enabled is false in this config: there is no capture');
  });

  it('prints the config JSON Schema', () => {
    const r = reshard('schema');
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout) as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['migrationId', 'source', 'target', 'tables', 'routing', 'copy']));
    expect(schema.required).toEqual(expect.arrayContaining(['migrationId', 'source', 'target', 'tables']));
    // The settings of production sources: TLS on connections, what capture does at a DDL.
    const compact = JSON.stringify(schema);
    expect(compact).toMatch(/"onDdl":\{[^}]*"enum":\["stop","exec","ignore"\]/);
    expect(compact).toMatch(/"tls":\{"anyOf":/);
    expect(compact).toMatch(/"minVersion":\{[^}]*"enum":\["TLSv1.2","TLSv1.3"\]/);
  });

  it('plans (writing nothing), runs, and reports status as JSON', async () => {
    const config = testConfig(prefix, { databases: 2, tablesPerDb: 2, pageSize: 200, segments: 2, concurrency: 2, items: false });
    await seedOrders(pool, config.source.database!, { orders: 900, itemsPerOrder: 0, seed: 21 });
    const file = join(work, 'ok.json');
    writeFileSync(file, JSON.stringify(config));
    const stateDir = join(work, 'state');

    const planned = reshard('plan', '--config', file, '--json');
    expect(planned.code).toBe(0);
    const [p] = JSON.parse(planned.stdout) as { table: string; rows: number; segments: unknown[]; skew: unknown[] }[];
    expect(p).toMatchObject({ table: 'order_info', rows: 900 });
    expect(p!.skew).toHaveLength(4);
    const [dbs] = await pool.query<import('mysql2').RowDataPacket[]>('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ?', [`${prefix}\\_db\\_%`]);
    expect(dbs).toHaveLength(0); // plan wrote nothing

    const run = reshard('run', '--config', file, '--state-dir', stateDir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/order_info: copied 900\/900 \(100\.0%\)/);

    const status = reshard('status', '--config', file, '--state-dir', stateDir, '--json');
    expect(status.code).toBe(0);
    const view = JSON.parse(status.stdout) as {
      migrationId: string;
      status: string;
      tables: { table: string; status: string; rowsCopied: number; statisticsTotal: number; segments: { status: string; cursor: string; retries: number; verifyStatus?: string }[] }[];
    };
    expect(view).toMatchObject({ migrationId: config.migrationId, status: 'DONE' });
    // The run verified every segment (VerifySegments) and finalize found the table complete.
    expect(view.tables[0]).toMatchObject({ table: 'order_info', status: 'DONE', rowsCopied: 900, statisticsTotal: 900, verifiedRows: 900, dirtyRows: 0, complete: true });
    expect(view.tables[0]!.segments.every((s) => s.status === 'DONE' && s.retries === 0 && s.cursor !== null && s.verifyStatus === 'CLEAN')).toBe(true);

    const verified = reshard('verify', '--config', file, '--state-dir', stateDir);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/order_info: CLEAN {2}compared 900 rows in 2 batches \(900 by checksum, 0 row by row\)/);

    // `ddl` needs CDC, and an action it knows.
    const ddl = reshard('ddl', 'apply', '--config', file, '--state-dir', stateDir);
    expect(ddl.code).toBe(1);
    expect(ddl.stderr).toContain('cdc.enabled is false in this config: capture never stops before a DDL');
    const unknown = reshard('ddl', 'redo', '--config', file);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/value 'redo' is invalid for argument 'action'. Allowed choices are apply, skip/);

    const retry = reshard('retry', '--config', file, '--state-dir', stateDir);
    expect(retry.code).toBe(0);
    expect(retry.stdout).toContain('every segment is DONE; finalizing');

    // The same status from a "deployed" state table: the local state served as DynamoDB at an endpoint
    // given the AWS way (the CLI touches no database then).
    const dynamo = await startDynamo(stateDir);
    try {
      const deployed = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bin/reshard.ts'), 'status', '--config', file, '--state-table', 'reshard-state', '--json'], {
          cwd: root,
          env: { ...process.env, AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
      expect(deployed.stderr).toBe('');
      expect(deployed.code).toBe(0);
      expect(JSON.parse(deployed.stdout)).toEqual(JSON.parse(status.stdout));
    } finally {
      await dynamo.close();
    }
  });
});
