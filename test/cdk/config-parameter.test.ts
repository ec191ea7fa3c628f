/** The migration config read from an SSM SecureString under a customer-managed key: every function may decrypt it, through SSM only. */
import { describe, expect, it } from 'vitest';
import { environmentIssues, envJson, handlerFunctions, statementsOf, synthEnvironment } from '../helpers/cdk.js';

const KEY = 'arn:aws:kms:eu-west-1:222222222222:key/1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d';
type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Condition?: Record<string, Record<string, unknown>> };
const decryptsViaSsm = (s: Statement) => s.Action === 'kms:Decrypt' && JSON.stringify(s.Condition ?? {}).includes('"kms:ViaService":"ssm.');

describe('migrationConfig.ssmKmsKey', () => {
  it('lets every function decrypt the parameter with that key, via SSM only', async () => {
    const { template } = await synthEnvironment('staging', (env) => ({ ...env, settings: { ...env.settings, migrationConfig: { ...env.settings.migrationConfig, ssmKmsKey: KEY } } }));
    const functions = [...handlerFunctions(template).values()];
    expect(functions).toHaveLength(7);
    for (const f of functions) {
      const decrypt = (statementsOf(template, f.id) as Statement[]).filter(decryptsViaSsm);
      expect(decrypt).toEqual([expect.objectContaining({ Effect: 'Allow', Resource: KEY, Condition: { StringEquals: { 'kms:ViaService': 'ssm.eu-west-1.amazonaws.com' } } })]);
    }
  });

  it('grants no such decrypt without the key (an AWS-managed key needs none)', async () => {
    const { template } = await synthEnvironment('staging');
    for (const f of handlerFunctions(template).values()) expect((statementsOf(template, f.id) as Statement[]).filter(decryptsViaSsm)).toEqual([]);
  });

  it('refuses a key without a parameter to decrypt, and a key alias', () => {
    const dev = envJson('dev');
    expect(environmentIssues({ ...dev, migrationConfig: { file: 'm.yaml', ssmKmsKey: KEY } })).toEqual(['migrationConfig.ssmKmsKey: needs ssmParameter: the key decrypts that parameter']);
    expect(environmentIssues({ ...dev, migrationConfig: { file: 'm.yaml', ssmParameter: '/p', ssmKmsKey: 'alias/reshard' } })[0]).toMatch(/^migrationConfig\.ssmKmsKey: must be the ARN of a KMS key/);
  });
});
