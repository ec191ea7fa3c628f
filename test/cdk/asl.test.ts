/**
 * Every state machine the stack synthesizes is valid Amazon States Language (asl-validator: JSON schema,
 * transitions, terminal states, JSONPath syntax, Task resource ARNs). Generic over the number of
 * machines, so a machine added later is checked without touching this file.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import aslValidator from 'asl-validator';
import { stateMachinesOf, synthTemplate, type SynthesizedStateMachine } from '../helpers/synth.js';

describe('ASL of every synthesized state machine', () => {
  let machines: SynthesizedStateMachine[];

  beforeAll(() => {
    machines = stateMachinesOf(synthTemplate());
  });

  it('finds the state machines in the template', () => {
    expect(machines.length).toBeGreaterThanOrEqual(1);
    for (const m of machines) expect(m.definition).toHaveProperty('StartAt');
  });

  it('passes asl-validator with path and ARN checks', () => {
    const failures = machines
      .map((m) => ({ id: m.logicalId, result: aslValidator(m.definition, { checkPaths: true, checkArn: true }) }))
      .filter((r) => !r.result.isValid)
      .map((r) => `${r.id}:\n  ${r.result.errorsText('\n  ')}`);
    expect(failures, failures.join('\n')).toEqual([]);
  });

  it('the validator is not vacuous: a broken copy of each machine is rejected', () => {
    for (const m of machines) {
      const broken = structuredClone(m.definition) as { StartAt: string };
      broken.StartAt = 'NoSuchState';
      expect(aslValidator(broken, { checkPaths: true, checkArn: true }).isValid, m.logicalId).toBe(false);
    }
  });
});
