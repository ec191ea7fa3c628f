#!/usr/bin/env -S node --import tsx
/**
 * CDK app: `cdk synth -c env=dev` / `cdk deploy -c env=dev` with `config/<env>.json` naming the account,
 * region and migration config. (Per-environment networking, secrets and alarms: the deployment issue.)
 */
import { App } from 'aws-cdk-lib';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { loadConfigFile } from '../lambdas/app/load-config.js';
import { formatIssues } from '../lambdas/core/config.js';
import { ReshardStack } from '../lib/reshard-stack.js';

const EnvConfig = z
  .object({
    account: z.string().regex(/^\d{12}$/),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/),
    migrationConfig: z.string().min(1),
  })
  .strict();

const app = new App();
const envName = String(app.node.tryGetContext('env') ?? 'dev');
if (!/^[a-z][a-z0-9-]{0,20}$/.test(envName)) throw new Error(`-c env=${envName}: use a short lowercase name`);
const file = `config/${envName}.json`;
const parsed = EnvConfig.safeParse(JSON.parse(readFileSync(file, 'utf8')));
if (!parsed.success) throw new Error(`${file} is invalid:\n  - ${formatIssues(parsed.error).join('\n  - ')}`);
const migration = await loadConfigFile(parsed.data.migrationConfig);

new ReshardStack(app, `Reshard-${envName}`, {
  env: { account: parsed.data.account, region: parsed.data.region },
  migrationConfigJson: JSON.stringify(migration),
  maxConcurrency: migration.copy.concurrency,
  retainState: envName === 'prod',
});
app.synth();
