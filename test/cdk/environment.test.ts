/** config/<env>.json: validated at synth time, errors naming the field; bound to the migration config it names. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bindMigration, checkEnvName, connectionBudget, loadEnvironment, parseEnvironment, stackPropsFor, type EnvironmentConfig } from '../../lib/environment.js';
import { parseConfig, type MigrationConfig } from '../../lambdas/core/config.js';
import { ConfigError } from '../../lambdas/core/errors.js';
import { ENVIRONMENTS, ROOT } from '../helpers/cdk.js';

type Json = Record<string, unknown>;
const example = (): Json => JSON.parse(readFileSync(join(ROOT, 'config', 'prod.json'), 'utf8')) as Json;

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}

const migration = (change: (c: Json & { source: Json; target: Json; copy?: Json }) => void = () => {}): MigrationConfig => {
  const c = {
    migrationId: 'orders-2026',
    source: { host: 'src', user: 'reshard', passwordEnv: 'SRC_PW', database: 'orders', tls: { ca: 'rds' } },
    target: { connection: { host: 'tgt', user: 'reshard', passwordEnv: 'TGT_PW', tls: { ca: 'rds' } }, databases: 2, databasePattern: 'db_{db}' },
    tables: [{ name: 'order_info', shardKeys: ['order_no'], targetTable: 'order_info_{table}', tablesPerDb: 2 }],
  } as Json & { source: Json; target: Json };
  change(c);
  return parseConfig(c);
};
const ARN = (name: string) => `arn:aws:secretsmanager:eu-west-1:333333333333:secret:${name}-Ab12Cd`;
const settings = (change: (s: Json) => void = () => {}): EnvironmentConfig => {
  const s: Json = { ...example(), secrets: { SRC_PW: ARN('src'), TGT_PW: ARN('tgt') } };
  change(s);
  return parseEnvironment(s, 'config/test.json');
};

describe('environment settings', () => {
  it.each(ENVIRONMENTS)('config/%s.json and its migration config load and validate', async (name) => {
    const env = await loadEnvironment(name, ROOT);
    expect(env.stackName).toBe(`Reshard-${name}`);
    expect(env.migration.migrationId).toBe('orders-2026');
    expect(stackPropsFor(env)).toMatchObject({ stackName: `Reshard-${name}`, env: { account: env.settings.account, region: env.settings.region } });
  });

  it('stacks are named per environment, so two can live in one account', async () => {
    const names = await Promise.all(ENVIRONMENTS.map(async (n) => (await loadEnvironment(n, ROOT)).stackName));
    expect(new Set(names).size).toBe(ENVIRONMENTS.length);
  });

  it('protects the state only in prod unless told', async () => {
    expect(stackPropsFor(await loadEnvironment('prod', ROOT))).toMatchObject({ retainState: true, deletionProtection: true });
    expect(stackPropsFor(await loadEnvironment('dev', ROOT))).toMatchObject({ retainState: false, deletionProtection: false });
  });

  it('applies the environment copy page size to the bundled migration config', async () => {
    const dev = await loadEnvironment('dev', ROOT);
    expect(dev.settings.batchSizes.copyPage).toBe(1000);
    expect(JSON.parse(stackPropsFor(dev).migrationConfigJson).copy.pageSize).toBe(1000);
  });

  it.each([
    ['account', (s: Json) => (s.account = '1234'), /^account: must be a 12-digit AWS account id/],
    ['region', (s: Json) => (s.region = 'Europe'), /^region: must be an AWS region/],
    ['vpc id', (s: Json) => ((s.network as Json).vpcId = 'vpc-xyz'), /^network\.vpcId: must be a VPC id/],
    ['subnet id', (s: Json) => ((s.network as Json).privateSubnetIds = ['subnet-0123456789abcdef5', 'sub-1']), /^network\.privateSubnetIds\.1: must be a subnet id/],
    ['no subnets', (s: Json) => ((s.network as Json).privateSubnetIds = []), /^network\.privateSubnetIds: /],
    ['security group', (s: Json) => ((s.network as Json).securityGroupId = 'sg-1'), /^network\.securityGroupId: must be a security group id/],
    ['secret ARN', (s: Json) => ((s.secrets as Json).SRC_PW = 'hunter2'), /^secrets\.SRC_PW: must be the complete ARN of a Secrets Manager secret/],
    ['secret name', (s: Json) => ((s.secrets as Json)['src-pw'] = ARN('x')), /^secrets\.src-pw: must be an environment variable name/],
    ['KMS key alias', (s: Json) => (s.secretsKmsKeys = ['arn:aws:kms:eu-west-1:333333333333:alias/reshard']), /^secretsKmsKeys\.0: must be the ARN of a KMS key .*not an alias/],
    ['config file', (s: Json) => (s.migrationConfig = 'config/migrations/orders.prod.yaml'), /^migrationConfig: /],
    ['SSM parameter', (s: Json) => (s.migrationConfig = { file: 'x.yaml', ssmParameter: 'no-slash' }), /^migrationConfig\.ssmParameter: must be a parameter name/],
    ['apply batch', (s: Json) => (s.batchSizes = { apply: 11 }), /^batchSizes\.apply: /],
    ['apply concurrency', (s: Json) => (s.concurrency = { applyMaxConcurrency: 1 }), /^concurrency\.applyMaxConcurrency: /],
    ['reserved handler', (s: Json) => (s.concurrency = { reserved: { copier: 2 } }), /^concurrency\.reserved/],
    ['alarm destination', (s: Json) => (s.alarms = { cdcLagSeconds: 60 }), /^alarms: name an e-mail or a topicArn/],
    ['alarm e-mail', (s: Json) => (s.alarms = { email: 'oncall' }), /^alarms\.email: /],
    ['topic ARN', (s: Json) => (s.alarms = { topicArn: 'arn:aws:sqs:eu-west-1:333333333333:q' }), /^alarms\.topicArn: must be an SNS topic ARN/],
    ['tolerated failures', (s: Json) => (s.toleratedFailurePercentage = 150), /^toleratedFailurePercentage: /],
    ['unknown field', (s: Json) => (s.pasword = 'x'), /pasword/],
  ])('names the field at fault: %s', (_what, change, message) => {
    const issues = issuesOf(() => settings(change));
    expect(issues.some((i) => message.test(i)), issues.join('\n')).toBe(true);
  });

  it('says which file is invalid', () => {
    expect(() => parseEnvironment({}, 'config/broken.json')).toThrow(/config\/broken\.json is invalid[\s\S]*account:[\s\S]*region:[\s\S]*migrationConfig:/);
  });

  it('refuses bad environment names', () => {
    expect(() => checkEnvName('Prod!')).toThrow(/use a short lowercase name/);
    expect(checkEnvName('eu-prod-2')).toBe('eu-prod-2');
  });
});

describe('connectionBudget', () => {
  it('adds copy or verify, apply, plan and (on the source) capture, each with its pool', () => {
    const config = migration((c) => {
      c.source.poolSize = 4;
      c.cdc = { enabled: true };
    });
    expect(connectionBudget(config, 'source', 16, 8)).toEqual({ total: 16 * 4 + 8 * 4 + 4 + 6, terms: 'copy or verify 16 × 4 + apply 8 × 4 + plan or finalize 4 + capture 4 + 2' });
    expect(connectionBudget(migration(), 'target', 16, 8)).toEqual({ total: 16 * 8 + 8, terms: 'copy or verify 16 × 8 + plan or finalize 8' });
  });
});

describe('environment bound to its migration config', () => {
  it('accepts passwords by passwordEnv, each mapped to a secret', () => {
    expect(bindMigration(settings(), migration(), 'config/test.json').migrationId).toBe('orders-2026');
  });

  it.each([
    ['a literal password', migration((c) => (c.source.password = 'secret')), settings(), /source\.password: a deployed config takes passwords from Secrets Manager/],
    ['a passwordEnv without a secret', migration((c) => ((c.target.connection as Json).passwordEnv = 'OTHER_PW')), settings(), /^secrets\.OTHER_PW: missing: .* target\.connection\.passwordEnv names it/],
    ['a secret no connection uses', migration(), settings((s) => ((s.secrets as Json).SPARE_PW = ARN('spare'))), /^secrets\.SPARE_PW: no connection .* has passwordEnv SPARE_PW/],
    [
      'more connections than the target allows',
      migration((c) => {
        c.copy = { concurrency: 32 };
        (c.target.connection as Json).poolSize = 8;
        c.cdc = { enabled: true, applyConcurrency: 32 };
      }),
      settings((s) => (s.maxConnections = { source: 5000, target: 500 })),
      /^maxConnections\.target: the functions can open up to 520 connections to one target server \(copy or verify 32 × 8 \+ apply 32 × 8 \+ plan or finalize 8\), over 90% of its max_connections 500: .*RDS Proxy/,
    ],
    ['a connection without TLS where TLS is required (prod)', migration((c) => delete (c.target.connection as Json).tls), settings(), /target\.connection\.tls: config\/test\.json requires TLS on every database connection \(requireTls\): set tls, e\.g\. \{ca: rds\}/],
    [
      'a stall period shorter than a copy call',
      migration((c) => (c.copy = { timeBudgetSeconds: 840 })),
      settings((s) => (s.alarms = { email: 'a@example.com', copyStalledMinutes: 10 })),
      /^alarms\.copyStalledMinutes: 10 is too short for copy\.timeBudgetSeconds 840 .*use at least 16/,
    ],
    [
      'customer keys without secrets to decrypt',
      migration((c) => {
        delete c.source.passwordEnv;
        delete (c.target.connection as Json).passwordEnv;
      }),
      settings((s) => {
        s.secrets = {};
        s.secretsKmsKeys = ['arn:aws:kms:eu-west-1:333333333333:key/0b7c2f4e-5d6a-4e8f-9a1b-2c3d4e5f6a7b'];
      }),
      /^secretsKmsKeys: there are no secrets for these keys to decrypt/,
    ],
    [
      'reserved copy concurrency below the Map concurrency',
      migration(),
      settings((s) => (s.concurrency = { mapMaxConcurrency: 8, reserved: { 'copy-batch': 4 } })),
      /^concurrency\.reserved\.copy-batch: 4 is below the Map's concurrency 8/,
    ],
    [
      'reserved apply concurrency below the event source maximum',
      migration(),
      settings((s) => (s.concurrency = { applyMaxConcurrency: 10, reserved: { apply: 5 } })),
      /^concurrency\.reserved\.apply: 5 is below the apply maximum concurrency 10/,
    ],
  ])('refuses %s', (_what, config, env, message) => {
    const issues = issuesOf(() => bindMigration(env, config, 'config/test.json'));
    expect(issues.some((i) => message.test(i)), issues.join('\n')).toBe(true);
  });
});
