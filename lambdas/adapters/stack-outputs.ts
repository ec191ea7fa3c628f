/**
 * A deployed stack's Outputs, read with CloudFormation DescribeStacks (the CLI's `status --stack`). A missing
 * stack or output is a ConfigError naming both.
 */
import { CloudFormationClient, DescribeStacksCommand, type CloudFormationClientConfig } from '@aws-sdk/client-cloudformation';
import { ConfigError } from '../core/errors.js';
import type { StackOutputKey } from '../core/stack-outputs.js';
import { sdkReadError } from './secrets.js';

export function cloudFormationClient(config: CloudFormationClientConfig = {}): CloudFormationClient {
  return new CloudFormationClient(config);
}

export async function stackOutput(client: Pick<CloudFormationClient, 'send'>, stackName: string, key: StackOutputKey): Promise<string> {
  let out;
  try {
    out = await client.send(new DescribeStacksCommand({ StackName: stackName }));
  } catch (err) {
    throw sdkReadError(err, `cannot describe stack ${stackName}`);
  }
  const stack = out.Stacks?.[0];
  if (!stack) throw new ConfigError(`stack ${stackName} not found`);
  const value = stack.Outputs?.find((o) => o.OutputKey === key)?.OutputValue;
  if (value === undefined) throw new ConfigError(`stack ${stackName} has no output ${key} (status ${stack.StackStatus ?? 'unknown'})`);
  return value;
}
