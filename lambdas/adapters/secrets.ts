/**
 * Database passwords from AWS Secrets Manager. A secret is either the password itself (SecretString) or a
 * JSON object with a `password` field (the shape RDS and the console create). SDK errors become typed
 * errors here: a missing, unreadable or malformed secret is a ConfigError (naming the secret, never its
 * value); throttling and service faults are TransientError.
 */
import { GetSecretValueCommand, SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { ConfigError, TransientError } from '../core/errors.js';
import { awsClientOptions } from './aws-client.js';

export function secretsClient(config: SecretsManagerClientConfig = {}): SecretsManagerClient {
  return new SecretsManagerClient({ ...awsClientOptions(), ...config });
}

/** A database login from a secret: its password, and the user when the secret names one. */
export interface SecretLogin {
  readonly password: string;
  readonly username?: string;
}

/** The login in a secret's text: `password` (and `username`, when a string) of a JSON object, else the whole text as the password. */
export function loginFromSecret(text: string, secretId: string): SecretLogin {
  const password = passwordFromSecret(text, secretId);
  if (password === text) return { password };
  const username = (JSON.parse(text.trim()) as { username?: unknown }).username;
  return typeof username === 'string' && username ? { password, username } : { password };
}

/** The password in a secret's text: the `password` field of a JSON object, else the whole text. */
export function passwordFromSecret(text: string, secretId: string): string {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      // not JSON after all: a password that starts with "{"
      return text;
    }
    const password = (parsed as { password?: unknown }).password;
    if (typeof password !== 'string') throw new ConfigError(`secret ${secretId} is a JSON object without a string "password" field`);
    return password;
  }
  return text;
}

/** SDK errors carry `$fault` (client | server) and `$retryable`; anything else (network) is transient. */
export function sdkReadError(err: unknown, what: string): Error {
  const e = err as { name?: string; message?: string; $fault?: string; $retryable?: unknown };
  const text = `${what}: ${e.name ?? 'Error'}: ${e.message ?? String(err)}`;
  if (e.$fault === 'client' && !e.$retryable && e.name !== 'ThrottlingException') return new ConfigError(text);
  return new TransientError(text, { cause: err });
}

export class SecretReader {
  constructor(private readonly client: SecretsManagerClient) {}

  /** The password held by a secret (ARN or name). */
  async password(secretId: string): Promise<string> {
    return (await this.login(secretId)).password;
  }

  /** The login held by a secret (ARN or name): its password, and its user when it names one. */
  async login(secretId: string): Promise<SecretLogin> {
    let out;
    try {
      out = await this.client.send(new GetSecretValueCommand({ SecretId: secretId }));
    } catch (err) {
      throw sdkReadError(err, `cannot read secret ${secretId}`);
    }
    if (out.SecretString === undefined) throw new ConfigError(`secret ${secretId} has no SecretString (binary secrets are not supported)`);
    return loginFromSecret(out.SecretString, secretId);
  }
}
