/**
 * The runnable state machine for a config: the CDK-synthesized ASL (see `synth.ts`), produced in a child
 * process so the CDK's memory never weighs on the copy, and cached on disk by everything the definition
 * depends on: the construct sources, the aws-cdk-lib version and the settings that reach the definition.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { MigrationConfig } from '../lambdas/core/config.js';
import type { HandlerName } from '../lib/reshard-stack.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface SynthesizedMachine {
  /** The ASL, ready for aws-local-stepfunctions. */
  readonly definition: Record<string, Json>;
  /** Task state name → handler name. */
  readonly taskHandlers: Record<string, HandlerName>;
  /** The Cutover state machine of the same stack (synthesized for a config; absent from a single machine taken out of a template). */
  readonly cutover?: SynthesizedMachine;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export function synthesizeStateMachine(config: MigrationConfig): SynthesizedMachine {
  const hash = createHash('sha256');
  hash.update(String(config.copy.concurrency));
  for (const f of readdirSync(join(root, 'lib')).sort()) hash.update(f).update(readFileSync(join(root, 'lib', f)));
  hash.update(readFileSync(join(root, 'local', 'synth.ts')));
  hash.update(readFileSync(join(root, 'node_modules', 'aws-cdk-lib', 'package.json')));
  const cacheDir = join(root, 'node_modules', '.cache', 'reshard');
  const file = join(cacheDir, `asl-${hash.digest('hex').slice(0, 16)}.json`);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as SynthesizedMachine;
  const child = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'local', 'synth-child.ts')], {
    input: JSON.stringify(config),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    cwd: root,
  });
  if (child.status !== 0) throw new Error(`synthesizing the state machine failed:\n${child.stderr}`);
  const machine = JSON.parse(child.stdout) as SynthesizedMachine;
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(file, child.stdout);
  return machine;
}
