/**
 * The migration config from an SSM parameter (String or SecureString), for deployments that keep it out of
 * the bundle. SDK errors become typed errors: a missing or unreadable parameter is a ConfigError.
 */
import { GetParameterCommand, SSMClient, type SSMClientConfig } from '@aws-sdk/client-ssm';
import { ConfigError } from '../core/errors.js';
import { sdkReadError } from './secrets.js';
import { awsClientOptions } from './aws-client.js';

export function ssmClient(config: SSMClientConfig = {}): SSMClient {
  return new SSMClient({ ...awsClientOptions(), ...config });
}

export async function readParameter(client: SSMClient, name: string): Promise<string> {
  let out;
  try {
    out = await client.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
  } catch (err) {
    throw sdkReadError(err, `cannot read SSM parameter ${name}`);
  }
  const value = out.Parameter?.Value;
  if (value === undefined) throw new ConfigError(`SSM parameter ${name} has no value`);
  return value;
}
