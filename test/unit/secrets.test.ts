/** Database passwords from Secrets Manager and the deployed Lambda's environment (no AWS: the client is stubbed). */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { loginFromSecret, passwordFromSecret, SecretReader, sdkReadError, secretsClient } from '../../lambdas/adapters/secrets.js';
import { checkDeployedMigration, loadSecrets, parseSecretsMap } from '../../lambdas/app/env-context.js';
import { passwordOf, userOf } from '../../lambdas/adapters/mysql/pool.js';
import { ConfigError, TransientError } from '../../lambdas/core/errors.js';
import { connectionSchema } from '../../lambdas/core/config.js';

const ARN = 'arn:aws:secretsmanager:eu-west-1:333333333333:secret:reshard/prod/source-Qr90St';

afterEach(() => vi.restoreAllMocks());

describe('loginFromSecret', () => {
  it.each([
    ['plain text', 's3cr3t', { password: 's3cr3t' }],
    ['RDS rotation JSON', JSON.stringify({ engine: 'mysql', username: 'reshard_clone', password: 'pw', host: 'db' }), { password: 'pw', username: 'reshard_clone' }],
    ['JSON without a user', JSON.stringify({ password: 'pw' }), { password: 'pw' }],
    ['a password that starts with {', '{not json', { password: '{not json' }],
  ])('%s', (_name, text, want) => {
    expect(loginFromSecret(text, ARN)).toEqual(want);
  });
});

describe('passwordFromSecret', () => {
  it.each([
    ['plain text', 's3cr3t', 's3cr3t'],
    ['an RDS-style JSON secret', JSON.stringify({ username: 'reshard', password: 'p{w}"d', host: 'db' }), 'p{w}"d'],
    ['text that only starts with a brace', '{not json', '{not json'],
    ['an empty password', JSON.stringify({ password: '' }), ''],
  ])('%s', (_what, text, expected) => {
    expect(passwordFromSecret(text, ARN)).toBe(expected);
  });

  it('refuses a JSON secret without a password, naming the secret and not its value', () => {
    const err = (() => {
      try {
        passwordFromSecret(JSON.stringify({ username: 'reshard', pass: 'hunter2' }), ARN);
      } catch (e) {
        return e as Error;
      }
      throw new Error('expected an error');
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain(ARN);
    expect(err.message).not.toContain('hunter2');
  });
});

describe('sdkReadError', () => {
  const sdkError = (name: string, fault: 'client' | 'server', retryable?: object) => Object.assign(new Error(`${name} happened`), { name, $fault: fault, ...(retryable ? { $retryable: retryable } : {}) });
  it.each([
    ['ResourceNotFoundException', sdkError('ResourceNotFoundException', 'client'), ConfigError],
    ['AccessDeniedException', sdkError('AccessDeniedException', 'client'), ConfigError],
    ['ThrottlingException', sdkError('ThrottlingException', 'client', { throttling: true }), TransientError],
    ['InternalServiceError', sdkError('InternalServiceError', 'server'), TransientError],
    ['a network error', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), TransientError],
  ])('%s', (_what, err, type) => {
    const out = sdkReadError(err, `cannot read secret ${ARN}`);
    expect(out).toBeInstanceOf(type);
    expect(out.message).toContain(ARN);
  });
});

describe('SecretReader', () => {
  it('reads SecretString with GetSecretValue', async () => {
    const client = secretsClient({ region: 'eu-west-1' });
    const send = vi.spyOn(client, 'send').mockResolvedValue({ SecretString: JSON.stringify({ password: 'pw' }) } as never);
    expect(await new SecretReader(client).password(ARN)).toBe('pw');
    const command = send.mock.calls[0]![0] as GetSecretValueCommand;
    expect(command).toBeInstanceOf(GetSecretValueCommand);
    expect(command.input).toEqual({ SecretId: ARN });
  });

  it('refuses a binary secret', async () => {
    const client = secretsClient({ region: 'eu-west-1' });
    vi.spyOn(client, 'send').mockResolvedValue({ SecretBinary: new Uint8Array([1]) } as never);
    await expect(new SecretReader(client).password(ARN)).rejects.toThrow(ConfigError);
  });

  it('turns SDK errors into typed errors', async () => {
    const client = secretsClient({ region: 'eu-west-1' });
    vi.spyOn(client, 'send').mockRejectedValue(Object.assign(new Error('Secrets Manager can not find the specified secret.'), { name: 'ResourceNotFoundException', $fault: 'client' }));
    await expect(new SecretReader(client).password(ARN)).rejects.toThrow(/cannot read secret .*source-Qr90St: ResourceNotFoundException/);
  });
});

describe('the deployed environment', () => {
  it('parses RESHARD_SECRETS', () => {
    expect(parseSecretsMap(undefined)).toEqual({});
    expect(parseSecretsMap(JSON.stringify({ RESHARD_SOURCE_PASSWORD: ARN }))).toEqual({ RESHARD_SOURCE_PASSWORD: ARN });
    expect(() => parseSecretsMap('{')).toThrow(/RESHARD_SECRETS is not JSON/);
    expect(() => parseSecretsMap(JSON.stringify({ 'bad-name': ARN }))).toThrow(/bad-name: must be an environment variable name/);
  });

  it('puts each password where passwordEnv points, read once per secret', async () => {
    const env: NodeJS.ProcessEnv = {};
    const read = vi.fn(async (id: string) => `pw-of-${id.slice(-6)}`);
    await loadSecrets({ SRC_PW: ARN, TGT_PW: `${ARN.slice(0, -6)}Zz99Yy` }, read, env);
    expect(read).toHaveBeenCalledTimes(2);
    expect(env).toEqual({ SRC_PW: 'pw-of-Qr90St', TGT_PW: 'pw-of-Zz99Yy' });
  });

  it('sets <name>_USERNAME from a secret that names its user (and removes it when the secret stops naming one)', async () => {
    const env: NodeJS.ProcessEnv = { SRC_PW_USERNAME: 'stale' };
    await loadSecrets({ SRC_PW: ARN, TGT_PW: `${ARN.slice(0, -6)}Zz99Yy` }, async (id) => (id === ARN ? { password: 'p1', username: 'reshard_b' } : 'p2'), env);
    expect(env).toEqual({ SRC_PW: 'p1', SRC_PW_USERNAME: 'reshard_b', TGT_PW: 'p2' });
    await loadSecrets({ SRC_PW: ARN }, async () => ({ password: 'p3' }), env);
    expect(env.SRC_PW_USERNAME).toBeUndefined();
  });

  it('userOf takes the user the secret names, else the configured one', () => {
    vi.stubEnv('RESHARD_TEST_ROT_PW_USERNAME', 'reshard_clone');
    expect(userOf(connectionSchema.parse({ user: 'reshard', passwordEnv: 'RESHARD_TEST_ROT_PW' }))).toBe('reshard_clone');
    expect(userOf(connectionSchema.parse({ user: 'reshard', passwordEnv: 'RESHARD_TEST_OTHER_PW' }))).toBe('reshard');
    vi.unstubAllEnvs();
  });

  it('passwordOf then finds it', async () => {
    vi.stubEnv('RESHARD_TEST_SOURCE_PW', undefined);
    await loadSecrets({ RESHARD_TEST_SOURCE_PW: ARN }, async () => 'from-secrets-manager');
    expect(passwordOf(connectionSchema.parse({ passwordEnv: 'RESHARD_TEST_SOURCE_PW' }))).toBe('from-secrets-manager');
    vi.unstubAllEnvs();
  });

  it('refuses a config for another migration than the deployment serves', () => {
    expect(() => checkDeployedMigration({ migrationId: 'orders-2026' }, 'orders-2026')).not.toThrow();
    expect(() => checkDeployedMigration({ migrationId: 'orders-2027' }, 'orders-2026')).toThrow(/is for orders-2027 but this deployment serves orders-2026/);
  });
});
