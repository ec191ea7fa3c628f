/**
 * Limits checked at synth: the plan's Map items must fit Step Functions' 256 KiB execution state, and reserved
 * concurrency needs an account limit above it.
 */
import { describe, expect, it } from 'vitest';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { bindMigration, mapItemsBytes, parseEnvironment } from '../../lib/environment.js';
import { parseConfig } from '../../lambdas/core/config.js';
import { configIssues, synthEnvironment } from '../helpers/cdk.js';

const migration = (segments: number, tables = 2) =>
  parseConfig({
    migrationId: 'orders-2026',
    source: { host: 'src', user: 'reshard', database: 'orders' },
    target: { connection: { host: 'tgt', user: 'reshard' }, databases: 2, databasePattern: 'db_{db}' },
    tables: Array.from({ length: tables }, (_, i) => ({ name: `t${i}`, shardKeys: ['k'], targetTable: `t${i}_{table}`, tablesPerDb: 2 })),
    copy: { segments },
  });
const settings = parseEnvironment({ account: '111111111111', region: 'eu-west-1', migrationConfig: { file: 'm.yaml' }, alarms: { email: 'a@example.com' } }, 'config/test.json');

describe('Map items at synth', () => {
  it('measures the items as the plan handler sends them', () => {
    const config = migration(3, 1);
    const items = Array.from({ length: 3 }, (_, segment) => ({ migrationId: 'orders-2026', table: 't0', segment }));
    expect(mapItemsBytes(config)).toBe(JSON.stringify(items).length);
  });

  it('counts a segment per physical source table of a sharded source, each item naming its table', () => {
    const base = migration(2, 1);
    const config = parseConfig({ ...base, source: { host: 'src', user: 'reshard', databases: 2, databasePattern: 'old_{db}' }, tables: [{ ...base.tables[0]!, sourceTable: 't0_{table}', sourceTablesPerDb: 2 }] });
    const items = ['old_0.t0_0', 'old_0.t0_1', 'old_1.t0_0', 'old_1.t0_1'].flatMap((source, u) => [0, 1].map((s) => ({ migrationId: 'orders-2026', table: 't0', segment: u * 2 + s, source })));
    expect(mapItemsBytes(config)).toBe(JSON.stringify(items).length);
  });

  it('refuses more segments than fit, naming the most that do', () => {
    const issues = configIssues(() => bindMigration(settings, migration(5000), 'config/test.json'));
    expect(issues).toHaveLength(1);
    const most = Number(/use at most (\d+) segments/.exec(issues[0]!)?.[1]);
    expect(issues[0]).toMatch(/^m\.yaml: copy\.segments: 5000 segments × 2 physical source table\(s\) make Map items of ≈ \d+ KiB .* over the 200 KiB/);
    expect(configIssues(() => bindMigration(settings, migration(most), 'config/test.json'))).toEqual([]);
    expect(configIssues(() => bindMigration(settings, migration(most + 1), 'config/test.json'))).toHaveLength(1);
  });
});

describe('reserved concurrency', () => {
  it('warns that the account limit must exceed the reserved total by 100 (prod reserves 82)', async () => {
    const { stack } = await synthEnvironment('prod');
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('reserved concurrency totals 82: the account.s Lambda concurrency limit must be at least 182'));
  });

  it('says nothing when nothing is reserved (dev)', async () => {
    const { stack } = await synthEnvironment('dev');
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('reserved concurrency totals'))).toEqual([]);
  });
});
