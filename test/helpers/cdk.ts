/**
 * Builds the stack of an environment the way `bin/app.ts` does (config/<env>.json → lib/environment.ts →
 * ReshardStack), bundling skipped, and synthesizes it in a throw-away directory.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEnvironment, stackPropsFor, type Environment } from '../../lib/environment.js';
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
