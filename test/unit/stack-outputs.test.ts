import { describe, expect, it } from 'vitest';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { stackOutput } from '../../lambdas/adapters/stack-outputs.js';
import { StackOutputs } from '../../lambdas/core/stack-outputs.js';
import { ConfigError, TransientError } from '../../lambdas/core/errors.js';

/** A CloudFormation client answering DescribeStacks with `reply` (or throwing it). */
const client = (reply: unknown, sent: unknown[] = []) => ({
  send: (command: unknown) => {
    sent.push(command);
    return reply instanceof Error ? Promise.reject(reply) : Promise.resolve(reply);
  },
});
const sdkError = (name: string, fault: 'client' | 'server') => Object.assign(new Error(`${name} happened`), { name, $fault: fault });

describe('stackOutput', () => {
  it("returns the named output's value from DescribeStacks of that stack", async () => {
    // Prepare
    const sent: unknown[] = [];
    const fake = client({ Stacks: [{ StackStatus: 'UPDATE_COMPLETE', Outputs: [{ OutputKey: 'ChangeQueueUrl', OutputValue: 'https://q' }, { OutputKey: 'StateTableName', OutputValue: 'reshard-prod-state' }] }] }, sent);
    // Act
    const value = await stackOutput(fake as never, 'Reshard-prod', StackOutputs.stateTable);
    // Assess
    expect(value).toBe('reshard-prod-state');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toBeInstanceOf(DescribeStacksCommand);
    expect((sent[0] as DescribeStacksCommand).input).toEqual({ StackName: 'Reshard-prod' });
  });

  it('names the stack and the output when the output is missing', async () => {
    const fake = client({ Stacks: [{ StackStatus: 'CREATE_IN_PROGRESS', Outputs: [] }] });
    await expect(stackOutput(fake as never, 'Reshard-dev', StackOutputs.stateTable)).rejects.toThrow(new ConfigError('stack Reshard-dev has no output StateTableName (status CREATE_IN_PROGRESS)'));
  });

  it('turns a missing stack into a ConfigError and a server fault into a TransientError', async () => {
    const missing = stackOutput(client(sdkError('ValidationError', 'client')) as never, 'Reshard-x', StackOutputs.stateTable);
    await expect(missing).rejects.toBeInstanceOf(ConfigError);
    await expect(missing).rejects.toThrow(/cannot describe stack Reshard-x: ValidationError/);
    await expect(stackOutput(client(sdkError('InternalFailure', 'server')) as never, 'Reshard-x', StackOutputs.stateTable)).rejects.toBeInstanceOf(TransientError);
    await expect(stackOutput(client({ Stacks: [] }) as never, 'Reshard-x', StackOutputs.stateTable)).rejects.toThrow(new ConfigError('stack Reshard-x not found'));
  });
});
