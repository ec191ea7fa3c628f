/**
 * Builds the stack of an environment the way `bin/app.ts` does (config/<env>.json → lib/environment.ts →
 * ReshardStack), bundling skipped, and synthesizes it in a throw-away directory.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { loadEnvironment, parseEnvironment, stackPropsFor, type Environment } from '../../lib/environment.js';
import { ConfigError } from '../../lambdas/core/errors.js';
import { METRICS_NAMESPACE } from '../../lambdas/core/metric-names.js';
import { ReshardStack } from '../../lib/reshard-stack.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;

export interface SynthesizedEnvironment {
  readonly env: Environment;
  readonly app: App;
  readonly stack: ReshardStack;
  readonly template: Template;
}

/** Builds (does not synthesize) an environment's stack; `change` edits the loaded environment (a deep copy) first. */
export async function buildEnvironment(name: string, change?: (env: Environment) => Environment): Promise<Omit<SynthesizedEnvironment, 'template'>> {
  let env = await loadEnvironment(name, ROOT);
  if (change) env = change(structuredClone(env));
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'reshard-cdk-test-')), context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new ReshardStack(app, env.stackName, stackPropsFor(env));
  return { env, app, stack };
}

export async function synthEnvironment(name: string, change?: (env: Environment) => Environment): Promise<SynthesizedEnvironment> {
  const built = await buildEnvironment(name, change);
  return { ...built, template: Template.fromStack(built.stack) };
}

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };

/** The handler functions of a template by RESHARD_HANDLER, with their logical ids. */
export function handlerFunctions(template: Template): Map<string, { id: string; props: Record<string, unknown> }> {
  const out = new Map<string, { id: string; props: Record<string, unknown> }>();
  for (const [id, r] of Object.entries(template.findResources('AWS::Lambda::Function') as Record<string, Resource>)) {
    const name = (r.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.RESHARD_HANDLER;
    if (typeof name === 'string') out.set(name, { id, props: r.Properties });
  }
  return out;
}

/**
 * The stack's two state machines, by the start of their logical ids: the full copy (plan → copy → verify →
 * finalize) and the cut-over.
 */
export const StateMachineIds = { fullCopy: 'FullCopyStateMachine', cutover: 'CutoverStateMachine' } as const;

/** The template's one state machine whose logical id starts with `prefix` (see `StateMachineIds`), with that id. */
export function stateMachineOf(template: Template, prefix: (typeof StateMachineIds)[keyof typeof StateMachineIds]): { id: string; props: Record<string, unknown> } {
  const found = Object.entries(template.findResources('AWS::StepFunctions::StateMachine') as Record<string, Resource>).filter(([id]) => id.startsWith(prefix));
  expect(found.map(([id]) => id), prefix).toHaveLength(1);
  const [id, r] = found[0]!;
  return { id, props: r.Properties };
}

/** Every IAM statement granted to a function's role (its default policy and any attached policy). */
export function statementsOf(template: Template, functionId: string): { Action: string | string[]; Resource: unknown; Effect: string }[] {
  const fn = template.findResources('AWS::Lambda::Function')[functionId] as Resource;
  const roleId = ((fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'])[0];
  const policies = Object.values(template.findResources('AWS::IAM::Policy') as Record<string, Resource>).filter((p) =>
    (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId),
  );
  return policies.flatMap((p) => (p.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown; Effect: string }[] }).Statement);
}

export function actionsOf(statements: { Action: string | string[] }[]): string[] {
  return statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
}

/** A deployment settings file of config/ as raw JSON, to change before `parseEnvironment`. */
export function envJson(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(ROOT, 'config', `${name}.json`), 'utf8')) as Record<string, unknown>;
}

/** The issues of the ConfigError `fn` throws (none: an empty list). */
export function configIssues(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).issues];
  }
  return [];
}

/** The issues `parseEnvironment` finds in `raw` (none: an empty list). */
export const environmentIssues = (raw: unknown): string[] => configIssues(() => parseEnvironment(raw, 'config/test.json'));

/** A CloudWatch alarm metric query on one of our custom metrics of the example migration (or of `migrationId`). */
export const customMetric = (metricName: string, stat: string, period: number, migrationId = 'orders-2026') => ({
  MetricStat: {
    Metric: {
      Namespace: METRICS_NAMESPACE,
      MetricName: metricName,
      Dimensions: expect.arrayContaining([
        { Name: 'migrationId', Value: migrationId },
        { Name: 'service', Value: 'reshard' },
      ]),
    },
    Stat: stat,
    Period: period,
  },
});
