/**
 * The reshard stack (minimal deployment of the full copy): state table, the four Lambdas, the state machine.
 * VPC placement, secrets, alarms and per-environment settings are the deployment issue's work.
 */
import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { FullCopyStateMachine } from './full-copy-state-machine.js';
import { ChangeDataCapture } from './cdc.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Handler modules, by the name the local runtime binds (`RESHARD_HANDLER`). */
export const HANDLERS = {
  plan: 'lambdas/handlers/plan.ts',
  'copy-batch': 'lambdas/handlers/copy-batch.ts',
  'verify-batch': 'lambdas/handlers/verify-batch.ts',
  finalize: 'lambdas/handlers/finalize.ts',
  capture: 'lambdas/handlers/capture.ts',
  apply: 'lambdas/handlers/apply.ts',
} as const;
export type HandlerName = keyof typeof HANDLERS;

export interface ReshardStackProps extends StackProps {
  /** The validated migration config as JSON (passwords only by `passwordEnv`). */
  readonly migrationConfigJson: string;
  /** Map concurrency. @default 4 */
  readonly maxConcurrency?: number;
  /** Failed segments tolerated by the segment Maps, in percent. @default 0 */
  readonly toleratedFailurePercentage?: number;
  /** Keep the state table when the stack is deleted. @default true */
  readonly retainState?: boolean;
}

export class ReshardStack extends Stack {
  readonly stateTable: dynamodb.Table;
  readonly fullCopy: FullCopyStateMachine;
  readonly functions: Record<HandlerName, NodejsFunction>;
  readonly cdc: ChangeDataCapture;

  constructor(scope: Construct, id: string, props: ReshardStackProps) {
    super(scope, id, props);
    const retain = props.retainState ?? true;
    this.stateTable = new dynamodb.Table(this, 'State', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    const fn = (name: HandlerName, timeout: Duration, memorySize: number) =>
      new NodejsFunction(this, `Fn-${name}`, {
        entry: join(root, HANDLERS[name]),
        handler: 'handler',
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture: lambda.Architecture.ARM_64,
        timeout,
        memorySize,
        environment: {
          RESHARD_HANDLER: name,
          RESHARD_STATE_TABLE: this.stateTable.tableName,
          RESHARD_CONFIG_JSON: props.migrationConfigJson,
          POWERTOOLS_SERVICE_NAME: 'reshard',
          NODE_OPTIONS: '--enable-source-maps',
        },
        bundling: {
          format: OutputFormat.ESM,
          target: 'node22',
          sourceMap: true,
          forceDockerBundling: false,
          mainFields: ['module', 'main'],
          // CommonJS dependencies (mysql2) call require(): give the ESM bundle one.
          banner: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
        },
      });
    this.functions = {
      plan: fn('plan', Duration.minutes(15), 1024),
      'copy-batch': fn('copy-batch', Duration.minutes(15), 1024),
      'verify-batch': fn('verify-batch', Duration.minutes(15), 1024),
      finalize: fn('finalize', Duration.minutes(1), 256),
      capture: fn('capture', Duration.minutes(1), 1024),
      apply: fn('apply', Duration.minutes(1), 1024),
    };
    for (const f of Object.values(this.functions)) this.stateTable.grantReadWriteData(f);

    this.cdc = new ChangeDataCapture(this, 'Cdc', { captureFunction: this.functions.capture, applyFunction: this.functions.apply });
    this.functions.capture.addEnvironment('RESHARD_QUEUE_URL', this.cdc.queue.queueUrl);
    // Verification under live CDC waits for the queue to drain before it rechecks a differing batch.
    this.functions['verify-batch'].addEnvironment('RESHARD_QUEUE_URL', this.cdc.queue.queueUrl);
    this.cdc.queue.grant(this.functions['verify-batch'], 'sqs:GetQueueAttributes');

    this.fullCopy = new FullCopyStateMachine(this, 'FullCopy', {
      planFunction: this.functions.plan,
      copyBatchFunction: this.functions['copy-batch'],
      verifyBatchFunction: this.functions['verify-batch'],
      finalizeFunction: this.functions.finalize,
      ...(props.maxConcurrency !== undefined ? { maxConcurrency: props.maxConcurrency } : {}),
      ...(props.toleratedFailurePercentage !== undefined ? { toleratedFailurePercentage: props.toleratedFailurePercentage } : {}),
    });
  }
}
