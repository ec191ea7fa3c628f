/**
 * cdk-nag: every environment's stack passes the AwsSolutions rules; what it keeps on purpose is acknowledged
 * with a reason in lib/nag.ts (and bin/app.ts runs the same checks on every `cdk synth`).
 */
import { describe, expect, it } from 'vitest';
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildEnvironment, ENVIRONMENTS, synthEnvironment } from '../helpers/cdk.js';

describe.each(ENVIRONMENTS)('cdk-nag AwsSolutions on %s', (name) => {
  it('reports no unacknowledged error or warning', async () => {
    const { app } = await synthEnvironment(name);
    app.synth(); // aspects and late-bound resources exist only after synthesis
    const report = new AwsSolutionsChecks(app).validateScope(app);
    const findings = report.violations.map((v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
    expect(findings).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('acknowledges findings only with a reason', async () => {
    const { app } = await buildEnvironment(name);
    const acks = app.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    expect(acks.length).toBeGreaterThan(0);
    for (const [id, reason] of acks) {
      expect(id).toMatch(/AwsSolutions-[A-Z]+\d+|aws-ec2:/);
      expect(reason.length, id).toBeGreaterThan(40);
    }
  });

  it('fails synthesis when a finding is not acknowledged', async () => {
    const { app, stack } = await buildEnvironment(name);
    // An unencrypted, non-SSL queue with no DLQ: AwsSolutions-SQS2, SQS3, SQS4.
    const { Queue, QueueEncryption } = await import('aws-cdk-lib/aws-sqs');
    new Queue(stack, 'Careless', { encryption: QueueEncryption.UNENCRYPTED });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS2[\s\S]*AwsSolutions-SQS3[\s\S]*AwsSolutions-SQS4/);
  });
});
