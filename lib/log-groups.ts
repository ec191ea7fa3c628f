/**
 * Log groups of the stack: one per function and one for the state machine, with the environment's retention.
 * Their names end with the first 8 hex digits of the stack id's UUID, which CloudFormation draws anew for
 * every stack it creates: a group retained by a deleted stack never blocks deploying the stack again.
 */
import { Aws, Fn, RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** The retentions CloudWatch Logs accepts, in days (never-expire left out on purpose). */
export const LOG_RETENTION_DAYS: readonly number[] = Object.values(logs.RetentionDays).filter(
  (d): d is logs.RetentionDays => typeof d === 'number' && d !== logs.RetentionDays.INFINITE,
);

/** `arn:…:stack/<name>/<uuid>` → the UUID's first group (8 hex digits). */
function stackInstanceSuffix(): string {
  return Fn.select(0, Fn.split('-', Fn.select(2, Fn.split('/', Aws.STACK_ID))));
}

export interface StackLogGroupProps {
  /** Name prefix (`/aws/lambda/`, `/aws/vendedlogs/states/`); the group is `<prefix><stack name>-<label>-<suffix>`. */
  readonly prefix: string;
  readonly label: string;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly retention?: logs.RetentionDays;
  /** @default RemovalPolicy.DESTROY */
  readonly removalPolicy?: RemovalPolicy;
}

export function stackLogGroup(scope: Construct, id: string, props: StackLogGroupProps): logs.LogGroup {
  return new logs.LogGroup(scope, id, {
    logGroupName: Fn.join('', [props.prefix, Aws.STACK_NAME, '-', props.label, '-', stackInstanceSuffix()]),
    retention: props.retention ?? logs.RetentionDays.ONE_MONTH,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
  });
}
