/**
 * The stack's Outputs, under ids that stay the same across deploys: what an operator (and `reshard status
 * --stack`) needs to find the deployed resources.
 */
import { CfnOutput, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { StackOutputs } from '../lambdas/core/stack-outputs.js';

export interface StackOutputSubjects {
  readonly stateTable: dynamodb.Table;
  readonly changeQueue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly fullCopyStateMachine: sfn.IStateMachine;
  readonly cutoverStateMachine: sfn.IStateMachine;
  /** @default no dashboard output */
  readonly dashboard?: cloudwatch.Dashboard;
}

export function addStackOutputs(scope: Construct, s: StackOutputSubjects): void {
  const out = (id: string, value: string, description: string) => new CfnOutput(scope, id, { value, description });
  out(StackOutputs.stateTable, s.stateTable.tableName, 'DynamoDB state table: checkpoints, capture position, verification (reshard status --state-table)');
  out(StackOutputs.changeQueue, s.changeQueue.queueUrl, 'SQS FIFO change queue (capture → apply)');
  out(StackOutputs.deadLetterQueue, s.deadLetterQueue.queueUrl, 'SQS FIFO DLQ of the change queue');
  out(StackOutputs.fullCopyStateMachine, s.fullCopyStateMachine.stateMachineArn, 'Full copy state machine (plan → copy → verify → finalize)');
  out(StackOutputs.cutoverStateMachine, s.cutoverStateMachine.stateMachineArn, 'Cut-over state machine (precheck → [ready to switch] → freeze, catch up, check, switch, thaw)');
  if (s.dashboard) {
    const region = Stack.of(scope).region;
    out(StackOutputs.dashboard, `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${s.dashboard.dashboardName}`, 'CloudWatch dashboard');
  }
}
