/**
 * The functions' route to the AWS services they call from inside the databases' VPC, without a NAT: a
 * DynamoDB gateway endpoint on the given route tables, and interface endpoints (private DNS on, so the SDK's
 * default endpoints resolve to them) for SQS, Secrets Manager and, when the config comes from SSM, SSM, in
 * the functions' subnets. The interface endpoints' security group admits HTTPS from the functions' security
 * group only.
 *
 * L1 endpoints: the subnets and route tables are imported by id, so nothing (zones, route tables) is looked
 * up at synth time.
 */
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';

/**
 * How the functions in the VPC reach DynamoDB, SQS, Secrets Manager and SSM:
 * - `create`: this stack creates the VPC endpoints;
 * - `existing`: the VPC already has them (or a NAT route); nothing is created;
 * - `none`: nothing is created, and synthesis warns that the subnets need a NAT route.
 */
export const ENDPOINT_MODES = ['create', 'existing', 'none'] as const;
export type EndpointMode = (typeof ENDPOINT_MODES)[number];

/** Interface endpoint services by the name the SDK uses. */
const INTERFACE_SERVICES = {
  sqs: ec2.InterfaceVpcEndpointAwsService.SQS,
  secretsmanager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
  ssm: ec2.InterfaceVpcEndpointAwsService.SSM,
} as const;
export type InterfaceServiceName = keyof typeof INTERFACE_SERVICES;

export interface VpcEndpointsProps {
  readonly vpc: ec2.IVpc;
  /** Subnets of the interface endpoints' network interfaces (at most one per Availability Zone). */
  readonly subnets: readonly ec2.ISubnet[];
  /** Route tables of those subnets: the DynamoDB gateway endpoint adds its prefix-list route to each. */
  readonly routeTableIds: readonly string[];
  /** The functions' security group: admitted on 443 by the interface endpoints. */
  readonly clientSecurityGroup: ec2.ISecurityGroup;
  /** Interface endpoints to create. @default ['sqs', 'secretsmanager', 'ssm'] */
  readonly interfaceServices?: readonly InterfaceServiceName[];
}

function vpcEndpointsDefaults(props: VpcEndpointsProps) {
  return { interfaceServices: props.interfaceServices ?? (['sqs', 'secretsmanager', 'ssm'] as const) };
}

export class VpcEndpoints extends Construct {
  readonly dynamoDb: ec2.CfnVPCEndpoint;
  /** The interface endpoints by service. */
  readonly interfaces: Partial<Record<InterfaceServiceName, ec2.CfnVPCEndpoint>> = {};
  /** Attached to the interface endpoints: HTTPS in from the functions' security group. */
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: VpcEndpointsProps) {
    super(scope, id);
    const d = vpcEndpointsDefaults(props);
    if (!props.routeTableIds.length) throw new Error('VpcEndpoints: routeTableIds must name the route tables of the subnets (the DynamoDB gateway endpoint routes through them)');
    if (!props.subnets.length) throw new Error('VpcEndpoints: subnets must not be empty');

    this.dynamoDb = new ec2.CfnVPCEndpoint(this, 'DynamoDb', {
      vpcId: props.vpc.vpcId,
      vpcEndpointType: 'Gateway',
      serviceName: ec2.GatewayVpcEndpointAwsService.DYNAMODB.name,
      routeTableIds: [...props.routeTableIds],
    });

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'reshard VPC interface endpoints: HTTPS from the reshard functions',
      allowAllOutbound: false,
    });
    this.securityGroup.addIngressRule(ec2.Peer.securityGroupId(props.clientSecurityGroup.securityGroupId), ec2.Port.tcp(443), 'HTTPS from the reshard functions');

    for (const name of d.interfaceServices)
      this.interfaces[name] = new ec2.CfnVPCEndpoint(this, `Interface-${name}`, {
        vpcId: props.vpc.vpcId,
        vpcEndpointType: 'Interface',
        serviceName: INTERFACE_SERVICES[name].name,
        subnetIds: props.subnets.map((s) => s.subnetId),
        securityGroupIds: [this.securityGroup.securityGroupId],
        privateDnsEnabled: true,
      });
  }
}
