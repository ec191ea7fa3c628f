/**
 * The functions' route out of the VPC: `network.endpoints` (create | existing | none) in the environment
 * config, the endpoints and their security group the stack creates, the NAT warning, the config errors; and
 * the retries that make a call cut short by a timeout (`Sandbox.Timedout`, `States.Timeout`) run again.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { App } from 'aws-cdk-lib';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import type { Environment } from '../../lib/environment.js';
import { ReshardStack } from '../../lib/reshard-stack.js';
import type { EndpointMode } from '../../lib/endpoints.js';
import { environmentIssues, envJson, ENVIRONMENTS, handlerFunctions, StateMachineIds, synthEnvironment, type SynthesizedEnvironment } from '../helpers/cdk.js';
import { stateMachinesOf } from '../helpers/synth.js';
import { CutoverStates } from '../../lib/cutover-state-machine.js';

type Json = Record<string, unknown>;
type Resource = { Type: string; Properties: Record<string, unknown> };

/** The environment with its network's endpoints mode (and route tables) replaced. */
const withEndpoints = (mode: EndpointMode) => (env: Environment): Environment => {
  const network = env.settings.network!;
  const { routeTableIds: _dropped, ...rest } = network;
  return { ...env, settings: { ...env.settings, network: mode === 'create' ? network : { ...rest, endpoints: mode } } };
};

const endpointsOf = (t: Template) => Object.values(t.findResources('AWS::EC2::VPCEndpoint') as Record<string, Resource>).map((r) => r.Properties);
/** An interface endpoint's service, from its name `com.amazonaws.<region>.<service>`. */
const serviceOf = (props: Json) => String(props.ServiceName).split('.').at(-1);
const NAT_WARNING = Match.stringLikeRegexp("network\\.endpoints is 'none'.*NAT route");

describe("network.endpoints 'create'", () => {
  let prod: SynthesizedEnvironment;
  let staging: SynthesizedEnvironment;
  beforeAll(async () => {
    prod = await synthEnvironment('prod');
    staging = await synthEnvironment('staging');
  });

  it('is the default when a network is set', () => {
    expect(staging.env.settings.network?.endpoints).toBe('create');
  });

  it('creates a DynamoDB gateway endpoint on the configured route tables', () => {
    const network = prod.env.settings.network!;
    const gateways = endpointsOf(prod.template).filter((e) => e.VpcEndpointType === 'Gateway');
    expect(gateways).toEqual([
      {
        VpcEndpointType: 'Gateway',
        VpcId: network.vpcId,
        RouteTableIds: network.routeTableIds,
        ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.dynamodb']] },
      },
    ]);
  });

  it.each([
    ['prod', ['secretsmanager', 'sqs']],
    ['staging', ['secretsmanager', 'sqs', 'ssm']], // its config comes from an SSM parameter
  ])('%s: interface endpoints with private DNS in the functions subnets, for %j', (name, services) => {
    const { env, template } = name === 'prod' ? prod : staging;
    const network = env.settings.network!;
    const interfaces = endpointsOf(template).filter((e) => e.VpcEndpointType === 'Interface');
    expect(interfaces.map(serviceOf).sort()).toEqual(services);
    const [sgId] = Object.keys(template.findResources('AWS::EC2::SecurityGroup'));
    for (const e of interfaces)
      expect(e, serviceOf(e)).toEqual({
        VpcEndpointType: 'Interface',
        VpcId: network.vpcId,
        ServiceName: `com.amazonaws.${env.settings.region}.${serviceOf(e)}`,
        SubnetIds: network.privateSubnetIds,
        SecurityGroupIds: [{ 'Fn::GetAtt': [sgId, 'GroupId'] }],
        PrivateDnsEnabled: true,
      });
  });

  it("admits HTTPS to the interface endpoints from the functions' security group only", () => {
    const network = prod.env.settings.network!;
    const groups = Object.values(prod.template.findResources('AWS::EC2::SecurityGroup') as Record<string, Resource>);
    expect(groups).toHaveLength(1);
    expect(groups[0]!.Properties.VpcId).toBe(network.vpcId);
    expect(groups[0]!.Properties.SecurityGroupIngress).toEqual([
      { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, SourceSecurityGroupId: network.securityGroupId, Description: 'HTTPS from the reshard functions' },
    ]);
    // That group is the one the functions run with.
    for (const [handler, fn] of handlerFunctions(prod.template))
      expect((fn.props.VpcConfig as { SecurityGroupIds: unknown[] }).SecurityGroupIds, handler).toEqual([network.securityGroupId]);
  });

  it('does not warn about a NAT route', () => {
    expect(Annotations.fromStack(prod.stack).findWarning('*', NAT_WARNING)).toEqual([]);
  });

  it('refuses a stack without route tables', () => {
    const network = { vpcId: 'vpc-0123456789abcdef4', privateSubnetIds: ['subnet-0123456789abcdef5'], securityGroupId: 'sg-0123456789abcdef8' };
    const build = () => new ReshardStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'NoRoutes', { migrationConfigJson: '{}', network });
    expect(build).toThrow(/network\.routeTableIds: required when network\.endpoints is 'create'/);
  });
});

describe.each(['existing', 'none'] as const)("network.endpoints '%s'", (mode) => {
  let s: SynthesizedEnvironment;
  beforeAll(async () => {
    s = await synthEnvironment('prod', withEndpoints(mode));
  });

  it('creates no endpoint and no security group', () => {
    s.template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    s.template.resourceCountIs('AWS::EC2::SecurityGroup', 0);
    // The functions stay in the VPC.
    for (const [handler, fn] of handlerFunctions(s.template)) expect(fn.props.VpcConfig, handler).toBeDefined();
  });

  it(mode === 'none' ? 'warns that the subnets need a NAT route' : 'does not warn', () => {
    const warnings = Annotations.fromStack(s.stack).findWarning('*', NAT_WARNING);
    expect(warnings).toHaveLength(mode === 'none' ? 1 : 0);
  });
});

describe('network.endpoints in config/<env>.json', () => {
  const issuesOf = (change: (network: Json) => void): string[] => {
    const raw = envJson('prod');
    change(raw.network as Json);
    return environmentIssues(raw);
  };

  it.each([
    ['create without route tables', (n: Json) => delete n.routeTableIds, /^network\.routeTableIds: required when network\.endpoints is 'create'/],
    ['the default without route tables', (n: Json) => (delete n.routeTableIds, delete n.endpoints), /^network\.routeTableIds: required when network\.endpoints is 'create' \(the default\)/],
    ['route tables that are not used', (n: Json) => (n.endpoints = 'existing'), /^network\.routeTableIds: only used when network\.endpoints is 'create'/],
    ['a route table id', (n: Json) => (n.routeTableIds = ['rtb-1']), /^network\.routeTableIds\.0: must be a route table id/],
    ['no route tables', (n: Json) => (n.routeTableIds = []), /^network\.routeTableIds: /],
    ['an unknown mode', (n: Json) => (n.endpoints = 'nat'), /^network\.endpoints: /],
  ])('names the field at fault: %s', (_what, change, message) => {
    const issues = issuesOf(change);
    expect(issues.some((i) => message.test(i)), issues.join('\n')).toBe(true);
  });

  it.each(['existing', 'none'])("accepts '%s' without route tables", (mode) => {
    expect(issuesOf((n) => ((n.endpoints = mode), delete n.routeTableIds))).toEqual([]);
  });
});

/** Every state of an ASL document, Map item processors and Parallel branches included. */
function allStates(definition: Json): [string, Json][] {
  return Object.entries((definition.States ?? {}) as Record<string, Json>).flatMap(([name, st]): [string, Json][] => [
    [name, st],
    ...[st.ItemProcessor, st.Iterator, ...((st.Branches as Json[] | undefined) ?? [])].filter((x): x is Json => x !== undefined).flatMap(allStates),
  ]);
}

describe.each(ENVIRONMENTS)('%s: Lambda tasks retry their timeouts', (name) => {
  let machines: ReturnType<typeof stateMachinesOf>;
  beforeAll(async () => {
    machines = stateMachinesOf((await synthEnvironment(name)).template);
  });
  const isCutover = (logicalId: string) => logicalId.startsWith(StateMachineIds.cutover);

  it('every LambdaInvoke task retries Sandbox.Timedout and TimeoutError, and States.Timeout when it has a task timeout (the cut-over Switch excepted)', () => {
    expect(machines.map((m) => m.logicalId).filter(isCutover)).toHaveLength(1);
    const tasks = machines
      .flatMap((m) => allStates(m.definition).map(([state, st]): [string, Json, boolean] => [state, st, isCutover(m.logicalId)]))
      .filter(([, st]) => st.Type === 'Task' && String(st.Resource).includes(':lambda:invoke'))
      // The Switch is never retried: it froze the source's writes, and after any failure it unfreezes through
      // its Catch (UnfreezeAfterFailure, below); a new execution prechecks again before it freezes again.
      .filter(([state, , cutover]) => !(cutover && state === CutoverStates.switch))
      .map(([state, st]): [string, Json] => [state, st]);
    expect(tasks.length).toBeGreaterThanOrEqual(4);
    for (const [state, task] of tasks) {
      const retried = ((task.Retry ?? []) as { ErrorEquals: string[] }[]).flatMap((r) => r.ErrorEquals);
      expect(retried, state).toContain('Sandbox.Timedout');
      expect(retried, state).toContain('TimeoutError'); // an SDK client's connect or request timeout
      if (task.TimeoutSeconds !== undefined || task.TimeoutSecondsPath !== undefined) expect(retried, state).toContain('States.Timeout');
    }
  });

  it('the cut-over Switch has no Retry, and catches States.ALL into UnfreezeAfterFailure', () => {
    const cutover = machines.find((m) => isCutover(m.logicalId))!;
    const switchTask = (cutover.definition.States as Record<string, Json>)[CutoverStates.switch]!;
    expect(switchTask).toMatchObject({ Type: 'Task' });
    expect(switchTask.Retry).toBeUndefined();
    expect(switchTask.Catch).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: CutoverStates.unfreezeAfterFailure })]);
  });
});
