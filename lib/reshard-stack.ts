/**
 * The reshard stack: state table, the handler Lambdas, the full-copy state machine, CDC (queue, DLQ,
 * apply event source, capture schedule). Per environment (`lib/environment.ts` builds the props from
 * `config/<env>.json`): VPC placement (with its endpoints, `endpoints.ts`) and Secrets Manager passwords for
 * the functions that reach the databases, tracing, concurrency limits, deletion protection, and the
 * dashboard + alarms (`monitoring.ts`).
 */
import { Annotations, Duration, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { FullCopyStateMachine } from './full-copy-state-machine.js';
import { ChangeDataCapture, type ChangeDataCaptureProps } from './cdc.js';
import { ReshardMonitoring, type ReshardMonitoringProps } from './monitoring.js';
import { acknowledgeNagFindings } from './nag.js';
import { VpcEndpoints, type EndpointMode, type InterfaceServiceName } from './endpoints.js';
import { BUNDLED_CONFIG_FILE, BUNDLED_ROUTER_FILE, RuntimeEnv } from '../lambdas/core/runtime-env.js';

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

/**
 * The handlers that open database connections, placed in the VPC and allowed to read the database secrets.
 * Every handler reaches a database today; one that never does can be left out of this list.
 */
export const DATABASE_HANDLERS: readonly HandlerName[] = ['plan', 'copy-batch', 'verify-batch', 'finalize', 'capture', 'apply'];

/** Where the database-reaching functions run (existing VPC, imported by id: synth stays offline). */
export interface NetworkPlacement {
  readonly vpcId: string;
  /** Private subnets with a route to DynamoDB, SQS, Secrets Manager (endpoints or NAT) and the databases. */
  readonly privateSubnetIds: readonly string[];
  /** Allowed by the databases' security groups. */
  readonly securityGroupId: string;
  /** How the functions reach the AWS services (see EndpointMode). @default 'create' */
  readonly endpoints?: EndpointMode;
  /** Route tables of the private subnets, for the DynamoDB gateway endpoint: required with endpoints `create`. */
  readonly routeTableIds?: readonly string[] | undefined;
}

export interface ReshardStackProps extends StackProps {
  /** The validated migration config as JSON (passwords only by `passwordEnv`). */
  readonly migrationConfigJson: string;
  /** Map concurrency. @default 4 */
  readonly maxConcurrency?: number;
  /** Failed segments tolerated by the segment Maps, in percent. @default 0 */
  readonly toleratedFailurePercentage?: number;
  /** Keep the state table when the stack is deleted. @default true */
  readonly retainState?: boolean;

  // ── Per-environment deployment ──
  /** Deletion protection on the state table. @default false */
  readonly deletionProtection?: boolean;
  /** VPC placement of the functions in DATABASE_HANDLERS. @default none (Lambda's own network) */
  readonly network?: NetworkPlacement;
  /** `passwordEnv` name → Secrets Manager secret ARN, read at cold start by the functions in DATABASE_HANDLERS. @default {} */
  readonly secrets?: Readonly<Record<string, string>>;
  /** Customer-managed KMS keys of those secrets: kms:Decrypt for the same functions, via Secrets Manager only. */
  readonly secretsKmsKeys?: readonly string[];
  /** SSM parameter holding the migration config, read at cold start instead of the bundled file. @default none */
  readonly configParameterName?: string;
  /**
   * Custom routing: the module's absolute path. It is bundled (esbuild) next to each handler and named by
   * RESHARD_ROUTING_MODULE, which the handlers load in place of the config's `routing.module`.
   */
  readonly routingModule?: string;
  /** X-Ray tracing for the functions and the state machine. @default false */
  readonly tracing?: boolean;
  /** Reserved concurrency per function. @default none */
  readonly reservedConcurrency?: Readonly<Partial<Record<HandlerName, number>>>;
  /** Apply event source and DLQ settings. @default see `cdcDefaults` */
  readonly cdc?: Pick<ChangeDataCaptureProps, 'maxReceiveCount' | 'batchSize' | 'maxConcurrency'>;
  /** Dashboard and alarms. @default none */
  readonly monitoring?: Pick<ReshardMonitoringProps, 'alarmEmail' | 'alarmTopicArn' | 'thresholds'>;
}

export class ReshardStack extends Stack {
  readonly stateTable: dynamodb.Table;
  readonly fullCopy: FullCopyStateMachine;
  readonly functions: Record<HandlerName, NodejsFunction>;
  readonly cdc: ChangeDataCapture;
  /** Present when `props.monitoring` is given. */
  readonly monitoring?: ReshardMonitoring;
  /** Present when `props.network` has endpoints `create`. */
  readonly endpoints?: VpcEndpoints;

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
      // Dirty-record details and tombstones carry `expiresAt` (epoch seconds).
      timeToLiveAttribute: 'expiresAt',
      deletionProtection: props.deletionProtection ?? false,
    });

    const migration = JSON.parse(props.migrationConfigJson) as { migrationId?: unknown; cdc?: { enabled?: unknown }; verify?: { enabled?: unknown } };
    const migrationId = migration.migrationId;
    const network = props.network ? importNetwork(this, props.network) : undefined;
    const fn = (name: HandlerName, timeout: Duration, memorySize: number) =>
      new NodejsFunction(this, `Fn-${name}`, {
        entry: join(root, HANDLERS[name]),
        handler: 'handler',
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture: lambda.Architecture.ARM_64,
        timeout,
        memorySize,
        environment: {
          [RuntimeEnv.handler]: name,
          [RuntimeEnv.stateTable]: this.stateTable.tableName,
          // The validated config travels inside the code bundle (no 4 KB environment limit, not shown in the console).
          [RuntimeEnv.configFile]: BUNDLED_CONFIG_FILE,
          ...(typeof migrationId === 'string' ? { [RuntimeEnv.migrationId]: migrationId } : {}),
          ...(props.configParameterName ? { [RuntimeEnv.configParameter]: props.configParameterName } : {}),
          ...(props.routingModule ? { [RuntimeEnv.routingModule]: BUNDLED_ROUTER_FILE } : {}),
          POWERTOOLS_SERVICE_NAME: 'reshard',
          NODE_OPTIONS: NODE_OPTIONS[name] ?? '--enable-source-maps',
        },
        ...(network && DATABASE_HANDLERS.includes(name) ? { vpc: network.vpc, vpcSubnets: { subnets: network.subnets }, securityGroups: [network.securityGroup] } : {}),
        ...(props.tracing ? { tracing: lambda.Tracing.ACTIVE } : {}),
        ...(props.reservedConcurrency?.[name] !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrency[name] } : {}),
        bundling: {
          format: OutputFormat.ESM,
          target: 'node22',
          sourceMap: true,
          forceDockerBundling: false,
          mainFields: ['module', 'main'],
          // CommonJS dependencies (mysql2) call require(): give the ESM bundle one.
          banner: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
          commandHooks: {
            beforeBundling: () => [],
            beforeInstall: () => [],
            afterBundling: (_in: string, out: string) => [
              `printf '%s' ${shellQuote(props.migrationConfigJson)} > ${shellQuote(join(out, BUNDLED_CONFIG_FILE))}`,
              ...(props.routingModule
                ? [
                    `${shellQuote(join(root, 'node_modules', '.bin', 'esbuild'))} ${shellQuote(props.routingModule)} --bundle --platform=node --format=esm --target=node22 --log-level=warning --outfile=${shellQuote(join(out, BUNDLED_ROUTER_FILE))}`,
                  ]
                : []),
            ],
          },
        },
      });
    this.functions = {
      plan: fn('plan', Duration.minutes(15), 1024),
      'copy-batch': fn('copy-batch', Duration.minutes(15), 1024),
      'verify-batch': fn('verify-batch', Duration.minutes(15), 1024),
      // Finalize recounts the recent days' statistics and may wait for CDC to catch up.
      finalize: fn('finalize', Duration.minutes(15), 512),
      capture: fn('capture', Duration.minutes(1), 1024),
      apply: fn('apply', Duration.minutes(1), 1024),
    };
    for (const f of Object.values(this.functions)) this.stateTable.grantReadWriteData(f);

    this.cdc = new ChangeDataCapture(this, 'Cdc', { captureFunction: this.functions.capture, applyFunction: this.functions.apply, ...props.cdc });
    this.functions.capture.addEnvironment(RuntimeEnv.queueUrl, this.cdc.queue.queueUrl);
    // Verification and finalize under live CDC wait for the queue to drain (lag 0): they read its depth only.
    for (const f of [this.functions['verify-batch'], this.functions.finalize]) {
      f.addEnvironment(RuntimeEnv.queueUrl, this.cdc.queue.queueUrl);
      this.cdc.queue.grant(f, 'sqs:GetQueueAttributes');
    }

    this.fullCopy = new FullCopyStateMachine(this, 'FullCopy', {
      planFunction: this.functions.plan,
      copyBatchFunction: this.functions['copy-batch'],
      verifyBatchFunction: this.functions['verify-batch'],
      finalizeFunction: this.functions.finalize,
      ...(props.maxConcurrency !== undefined ? { maxConcurrency: props.maxConcurrency } : {}),
      ...(props.toleratedFailurePercentage !== undefined ? { toleratedFailurePercentage: props.toleratedFailurePercentage } : {}),
      ...(props.tracing !== undefined ? { tracing: props.tracing } : {}),
    });

    // ── Per-environment deployment: secrets, config parameter, monitoring ──
    const dbFunctions = Object.entries(this.functions).filter(([name]) => DATABASE_HANDLERS.includes(name as HandlerName)).map(([, f]) => f);
    const secrets = Object.entries(props.secrets ?? {});
    if (secrets.length) {
      for (const f of dbFunctions) f.addEnvironment(RuntimeEnv.secrets, JSON.stringify(Object.fromEntries(secrets)));
      secrets.forEach(([envName, arn]) => {
        const secret = secretsmanager.Secret.fromSecretCompleteArn(this, `Secret-${envName}`, arn);
        for (const f of dbFunctions) secret.grantRead(f);
      });
      if (props.secretsKmsKeys?.length) {
        const decrypt = new iam.PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [...props.secretsKmsKeys],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com` } },
        });
        for (const f of dbFunctions) f.addToRolePolicy(decrypt);
      }
    }
    if (props.configParameterName) {
      const parameter = ssm.StringParameter.fromStringParameterName(this, 'ConfigParameter', props.configParameterName);
      for (const f of Object.values(this.functions)) parameter.grantRead(f);
    }
    const endpoints = network ? vpcEndpointsFor(this, network, props) : undefined;
    if (endpoints) this.endpoints = endpoints;
    if (props.monitoring) {
      if (typeof migrationId !== 'string') throw new Error('monitoring needs the migrationId of migrationConfigJson');
      this.monitoring = new ReshardMonitoring(this, 'Monitoring', {
        ...props.monitoring,
        migrationId,
        prefix: this.stackName,
        stateMachine: this.fullCopy.stateMachine,
        functions: this.functions,
        copyFunction: this.functions['copy-batch'],
        verifyFunction: this.functions['verify-batch'],
        stateTable: this.stateTable,
        cdcEnabled: migration.cdc?.enabled === true,
        verifyEnabled: migration.verify?.enabled !== false,
        queue: this.cdc.queue,
        deadLetterQueue: this.cdc.deadLetterQueue,
      });
    }
    acknowledgeNagFindings(this, { functions: this.functions, vpcFunctions: network ? dbFunctions : [], tracing: props.tracing ?? false });
  }
}

/**
 * The network's endpoints: created with `create` (the default); with `none`, a warning that the subnets need
 * a NAT route; nothing with `existing`. Interface endpoints for the services the functions call: SQS always,
 * Secrets Manager with secrets, SSM with a config parameter.
 */
function vpcEndpointsFor(stack: Stack, network: ReturnType<typeof importNetwork>, props: ReshardStackProps): VpcEndpoints | undefined {
  const n = props.network!;
  const mode = n.endpoints ?? 'create';
  if (mode === 'none')
    Annotations.of(stack).addWarningV2(
      'reshard:noVpcEndpoints',
      `network.endpoints is 'none': the functions in ${n.vpcId} reach DynamoDB, SQS, Secrets Manager and SSM only if their subnets have a NAT route; without one, every call times out`,
    );
  if (mode !== 'create') return undefined;
  if (!n.routeTableIds?.length) throw new Error("network.routeTableIds: required when network.endpoints is 'create' (the DynamoDB gateway endpoint routes through them)");
  const services: InterfaceServiceName[] = [
    'sqs',
    ...(Object.keys(props.secrets ?? {}).length ? (['secretsmanager'] as const) : []),
    ...(props.configParameterName ? (['ssm'] as const) : []),
  ];
  return new VpcEndpoints(stack, 'Endpoints', {
    vpc: network.vpc,
    subnets: network.subnets,
    routeTableIds: n.routeTableIds,
    clientSecurityGroup: network.securityGroup,
    interfaceServices: services,
  });
}

function importNetwork(scope: Construct, n: NetworkPlacement) {
  // fromVpcAttributes (not fromLookup): no AWS call at synth time. Functions get the subnets by id, so
  // neither the VPC's zones nor the subnets' route tables are ever read.
  const vpc = ec2.Vpc.fromVpcAttributes(scope, 'Vpc', { vpcId: n.vpcId, availabilityZones: Fn.getAzs() });
  Annotations.of(vpc).acknowledgeWarning('@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones', 'Lambdas name their subnets explicitly; the zone list is never used');
  const subnets = n.privateSubnetIds.map((id, i) => {
    const subnet = ec2.Subnet.fromSubnetId(scope, `PrivateSubnet${i}`, id);
    Annotations.of(subnet).acknowledgeWarning('@aws-cdk/aws-ec2:noSubnetRouteTableId', 'no route table is read: Lambda only needs the subnet id');
    return subnet;
  });
  return { vpc, subnets, securityGroup: ec2.SecurityGroup.fromSecurityGroupId(scope, 'DatabaseClients', n.securityGroupId, { mutable: false }) };
}

/**
 * Capture and apply turn every change event into short-lived objects and strings (decoded rows, JSON,
 * message bodies): a 64 MB young generation instead of V8's default cuts their garbage collection (capture
 * ran ~14% faster in `bench:cdc`'s setting, which uses the same flag).
 */
const NODE_OPTIONS: Partial<Record<HandlerName, string>> = {
  capture: '--enable-source-maps --max-semi-space-size=64',
  apply: '--enable-source-maps --max-semi-space-size=64',
};

/** One POSIX shell word (bundling hooks run in bash). */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
