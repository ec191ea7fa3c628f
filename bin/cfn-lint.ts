#!/usr/bin/env -S node --import tsx
/**
 * `npm run cfn-lint [env ...]`: runs cfn-lint (AWS's CloudFormation linter, a Python package) on the template
 * of every environment in config/*.json (or of the named ones). Each stack is built as `bin/app.ts` builds
 * it and synthesized offline into a temporary directory, Lambda bundling skipped: the template differs from
 * `cdk synth`'s only in the asset hashes. The rules cfn-lint skips are listed with their reasons in .cfnlintrc.
 *
 * Without cfn-lint on PATH it says so and exits 0, unless CI is set: then it installs cfn-lint with pip into
 * a temporary virtualenv and fails if it cannot. Exit status: 0 clean, 1 findings or failure.
 */
import { App } from 'aws-cdk-lib';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../lambdas/core/errors.js';
import { loadEnvironment, stackPropsFor } from '../lib/environment.js';
import { ReshardStack } from '../lib/reshard-stack.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The cfn-lint CI installs when none is on PATH (the version this project is checked with, up to the next major). */
const CFN_LINT_REQUIREMENT = 'cfn-lint>=1.51,<2';

const say = (line: string) => process.stderr.write(`cfn-lint: ${line}\n`);

/** cfn-lint run through python3's module when its script is not on PATH (the package's console entry point). */
const VIA_PYTHON = ['python3', '-c', 'import sys; from cfnlint.runner import main; sys.argv[0] = "cfn-lint"; sys.exit(main())'] as const;

/** The cfn-lint command to run (program and leading arguments), or undefined when there is none and CI is not set. */
function findCfnLint(work: string): readonly string[] | undefined {
  for (const cmd of [['cfn-lint'], VIA_PYTHON]) {
    const version = spawnSync(cmd[0], [...cmd.slice(1), '--version'], { encoding: 'utf8' });
    if (!version.error && version.status === 0) {
      say(`using ${version.stdout.trim()}`);
      return cmd;
    }
  }
  if (!process.env.CI) {
    say('cfn-lint is not on PATH: skipped (pip install cfn-lint to run it; CI installs it)');
    return undefined;
  }
  say(`not on PATH: installing ${CFN_LINT_REQUIREMENT} with pip into a temporary virtualenv`);
  const venv = join(work, 'venv');
  for (const [cmd, args] of [
    ['python3', ['-m', 'venv', venv]],
    [join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', CFN_LINT_REQUIREMENT]],
  ] as const) {
    const r = spawnSync(cmd, args, { stdio: 'inherit' });
    if (r.error || r.status !== 0) throw new Error(`cannot install cfn-lint: \`${cmd} ${args.join(' ')}\` ${r.error ? `failed: ${r.error.message}` : `exited ${r.status}`} (needs python3 with venv and pip, and access to PyPI)`);
  }
  return [join(venv, 'bin', 'cfn-lint')];
}

/** Synthesizes each environment's stack into `outdir`; returns the template paths and the regions they deploy to. */
async function synthesize(envNames: readonly string[], outdir: string): Promise<{ templates: string[]; regions: string[] }> {
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  const stacks = [];
  const regions = new Set<string>();
  for (const name of envNames) {
    const env = await loadEnvironment(name, root);
    stacks.push(new ReshardStack(app, env.stackName, stackPropsFor(env)));
    regions.add(env.settings.region);
  }
  const assembly = app.synth();
  return { templates: stacks.map((s) => join(assembly.directory, s.templateFile)), regions: [...regions] };
}

async function main(): Promise<number> {
  const started = Date.now();
  const envNames = process.argv.slice(2).length
    ? process.argv.slice(2)
    : readdirSync(join(root, 'config'))
        .filter((f) => f.endsWith('.json'))
        .map((f) => f.slice(0, -'.json'.length))
        .sort();
  const work = mkdtempSync(join(tmpdir(), 'reshard-cfn-lint-'));
  try {
    const cfnLint = findCfnLint(work);
    if (!cfnLint) return 0;
    const { templates, regions } = await synthesize(envNames, join(work, 'cdk.out'));
    // cfn-lint reads .cfnlintrc from the working directory: run it from the project root. Resource types and
    // values are checked against every region the environments deploy to.
    const r = spawnSync(cfnLint[0]!, [...cfnLint.slice(1), '--regions', ...regions, '--', ...templates], { cwd: root, stdio: 'inherit' });
    if (r.error) throw r.error;
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (r.status !== 0) {
      say(`findings in the ${envNames.join(', ')} templates (exit ${r.status}, ${seconds} s): fix them, or ignore a rule in .cfnlintrc with its reason`);
      return 1;
    }
    say(`${envNames.join(', ')}: clean (${seconds} s)`);
    return 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

try {
  process.exitCode = await main();
} catch (err) {
  say(err instanceof ConfigError ? `${err.message}${err.issues.length ? `\n  ${err.issues.join('\n  ')}` : ''}` : (err as Error).message);
  process.exitCode = 1;
}
