#!/usr/bin/env -S node --import tsx
/**
 * CDK app: `cdk synth -c env=<name>` / `cdk deploy -c env=<name>` deploys stack `Reshard-<name>` from
 * `config/<name>.json` (validated by `lib/environment.ts`) and the migration config it names. Offline:
 * nothing here calls AWS, and the Lambdas are bundled by the local esbuild. cdk-nag's AwsSolutions checks run
 * on every synthesis.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { ConfigError } from '../lambdas/core/errors.js';
import { loadEnvironment, stackPropsFor } from '../lib/environment.js';
import { ReshardStack } from '../lib/reshard-stack.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const app = new App();
const envName = String(app.node.tryGetContext('env') ?? 'dev');
try {
  const env = await loadEnvironment(envName, root);
  new ReshardStack(app, env.stackName, stackPropsFor(env));
  // Synthesis fails on any AwsSolutions finding not acknowledged (with its reason) in lib/nag.ts.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
app.synth();
