/**
 * In-process synthesis (imports aws-cdk-lib: ~2.5 s and ~300 MB; `asl.ts` runs it in a child process).
 * Turns the CDK-synthesized stack into runnable ASL: synthesize in-process (bundling skipped), take the
 * state machine's `DefinitionString` (an Fn::Join of text, Ref and GetAtt), resolve it, and note which
 * handler each Task state's Lambda runs (its `RESHARD_HANDLER` environment variable).
 */
import { App } from 'aws-cdk-lib';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MigrationConfig } from '../lambdas/core/config.js';
import { ReshardStack, HANDLERS, type HandlerName } from '../lib/reshard-stack.js';
import type { SynthesizedMachine } from './asl.js';

const LOCAL_ACCOUNT = '000000000000';
const LOCAL_REGION = 'us-east-1';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export interface Template {
  Resources: Record<string, { Type: string; Properties?: Record<string, Json> }>;
}

/** Synthesizes the stack for a config. Bundling is skipped: local runs call the handlers in-process. */
function synthTemplate(config: MigrationConfig): Template {
  const outdir = mkdtempSync(join(tmpdir(), 'reshard-synth-'));
  try {
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new ReshardStack(app, 'ReshardLocal', {
      env: { account: LOCAL_ACCOUNT, region: LOCAL_REGION },
      migrationConfigJson: JSON.stringify(config),
      maxConcurrency: config.copy.concurrency,
    });
    return app.synth().getStackByName(stack.stackName).template as Template;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function resolve(value: Json, template: Template): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    if ('Ref' in value) {
      const ref = value.Ref as string;
      if (ref === 'AWS::Partition') return 'aws';
      if (ref === 'AWS::Region') return LOCAL_REGION;
      if (ref === 'AWS::AccountId') return LOCAL_ACCOUNT;
      if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
      return `local-${ref}`;
    }
    if ('Fn::GetAtt' in value) {
      const [logicalId, attr] = value['Fn::GetAtt'] as [string, string];
      const type = template.Resources[logicalId]?.Type;
      if (type === 'AWS::Lambda::Function' && attr === 'Arn') return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${logicalId}`;
      return `arn:aws:local:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${logicalId}/${attr}`;
    }
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)} in the state machine definition`);
}

/** The stack's state machines, by the id of the construct holding each. */
export type MachineName = 'FullCopy' | 'Cutover';

function definitionOf(template: Template, name: MachineName): Record<string, Json> {
  const machines = Object.entries(template.Resources).filter(([id, r]) => r.Type === 'AWS::StepFunctions::StateMachine' && id.startsWith(`${name}StateMachine`)).map(([, r]) => r);
  if (machines.length !== 1) throw new Error(`expected one ${name} state machine in the template, found ${machines.length}`);
  const def = machines[0]!.Properties!.DefinitionString as Json;
  if (typeof def === 'string') return JSON.parse(def) as Record<string, Json>;
  const join = (def as { 'Fn::Join': [string, Json[]] })['Fn::Join'];
  return JSON.parse(join[1].map((p) => resolve(p, template)).join(join[0])) as Record<string, Json>;
}

function collectTasks(states: Record<string, Json>, template: Template, out: Record<string, HandlerName>): void {
  for (const [name, raw] of Object.entries(states)) {
    const state = raw as Record<string, Json>;
    if (state.Type === 'Task') {
      const params = state.Parameters as Record<string, Json> | undefined;
      const fnArn = params?.FunctionName ?? state.Resource;
      if (typeof fnArn !== 'string') throw new Error(`task state ${name} names no function: ${JSON.stringify(fnArn)}`);
      const logicalId = fnArn.split(':function:')[1];
      const env = (template.Resources[logicalId ?? '']?.Properties?.Environment as { Variables?: Record<string, string> } | undefined)?.Variables;
      const handler = env?.RESHARD_HANDLER as HandlerName | undefined;
      if (!handler || !(handler in HANDLERS)) throw new Error(`task state ${name} invokes ${fnArn}, which has no known RESHARD_HANDLER`);
      out[name] = handler;
    }
    const processor = (state.ItemProcessor ?? state.Iterator) as { States?: Record<string, Json> } | undefined;
    if (processor?.States) collectTasks(processor.States, template, out);
    for (const branch of (state.Branches as { States: Record<string, Json> }[] | undefined) ?? []) collectTasks(branch.States, template, out);
  }
}

/** Synthesizes in this process (~2.5 s and ~300 MB of heap that V8 keeps: prefer `synthesizeStateMachine`). */
export function synthesizeInProcess(config: MigrationConfig): SynthesizedMachine {
  const template = synthTemplate(config);
  return { ...machineOf(template), cutover: machineOf(template, 'Cutover') };
}

/** A runnable state machine of any synthesized reshard template (e.g. an environment's, `cdk synth -c env=prod`): the full copy by default. */
export function machineOf(template: Template, name: MachineName = 'FullCopy'): SynthesizedMachine {
  const definition = definitionOf(template, name);
  const taskHandlers: Record<string, HandlerName> = {};
  collectTasks(definition.States as Record<string, Json>, template, taskHandlers);
  return { definition, taskHandlers };
}

