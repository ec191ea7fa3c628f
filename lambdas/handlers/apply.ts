/**
 * Apply handler (SQS FIFO event source, ReportBatchItemFailures). Fast path: every record decodes and the
 * whole window applies in one merged, batched write. If that fails, Powertools' FIFO processor applies
 * record by record: a failing record and every later record of its group are reported failed (order kept)
 * while other groups go on; after maxReceiveCount the queue moves the poison message to the DLQ.
 */
import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import type { SQSEvent, SQSRecord, SQSBatchResponse } from 'aws-lambda';
import { ConfigError, describeError } from '../core/errors.js';
import { isReverseGroup } from '../core/reverse.js';
import { applyEvents } from '../app/apply.js';
import type { AppContext } from '../app/context.js';
import { envContext, envReverseContext } from '../app/env-context.js';
import { Metric } from '../core/metric-names.js';
import { eventsOf, logger, publishMetrics, type ContextProvider, type InvocationContext } from './common.js';

/**
 * `getReverse` gives the reverse migration's context (`cutover.reverse`): messages of reverse groups
 * (`isReverseGroup`) are applied to the old layout through it.
 */
export const makeApplyHandler = (getContext: ContextProvider, getReverse?: ContextProvider) => async (event: SQSEvent, invocation?: InvocationContext): Promise<SQSBatchResponse> => {
  const ctx = await getContext();
  const contextOf = async (record: SQSRecord) => {
    if (!isReverseGroup(record.attributes.MessageGroupId)) return ctx;
    if (!getReverse) throw new ConfigError(`message ${record.messageId} carries a reverse change (group ${record.attributes.MessageGroupId}) but this apply has no reverse replication (cutover.reverse)`);
    return getReverse();
  };
  try {
    // Each migration's records in one merged write (forward and, after a switch, reverse ones).
    const parts = new Map<AppContext, SQSRecord[]>();
    for (const r of event.Records) {
      const target = await contextOf(r);
      parts.set(target, [...(parts.get(target) ?? []), r]);
    }
    let events = 0;
    for (const [target, records] of parts) events += (await applyEvents(target, records.flatMap(eventsOf))).events;
    logger.debug('applied', { records: event.Records.length, events });
    publishMetrics(ctx.config.migrationId, [[Metric.eventsApplied, events], [Metric.applyRecordFailures, 0]]);
    return { batchItemFailures: [] };
  } catch (err) {
    logger.warn('batch apply failed; applying record by record', { error: describeError(err) });
  }
  let applied = 0;
  const applyRecord = async (record: SQSRecord) => {
    try {
      applied += (await applyEvents(await contextOf(record), eventsOf(record))).events;
    } catch (err) {
      const { MessageGroupId: group, ApproximateReceiveCount: receiveCount } = record.attributes;
      logger.error('change message failed', { messageId: record.messageId, group, receiveCount, error: describeError(err) });
      throw err;
    }
  };
  // What the failures alarm counts: the records reported failed, or all of them when the processor throws
  // (every record failed: the whole window goes back to the queue). They are retried, not Lambda errors.
  let failed = event.Records.length;
  try {
    const response = await processPartialResponse(event, applyRecord, new SqsFifoPartialProcessorAsync(), {
      skipGroupOnError: true,
      ...(invocation ? { context: invocation as never } : {}),
    });
    failed = response.batchItemFailures.length;
    return response;
  } finally {
    publishMetrics(ctx.config.migrationId, [[Metric.eventsApplied, applied], [Metric.applyRecordFailures, failed]]);
  }
};

export const handler = makeApplyHandler(envContext, envReverseContext);
