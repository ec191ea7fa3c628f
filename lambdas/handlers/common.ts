/** What every handler shares: event parsing at the edge, the logger, the Lambda context shape. */
import { Logger } from '@aws-lambda-powertools/logger';
import type { z } from 'zod';
import { InvalidEventError } from '../core/errors.js';
import { formatIssues } from '../core/config.js';
import type { AppContext } from '../app/context.js';

export const logger = new Logger({ serviceName: 'reshard' });

/** The part of the Lambda context we use (the local runtime provides the same). */
export interface InvocationContext {
  readonly awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

export type ContextProvider = () => Promise<AppContext>;

export function parseEvent<S extends z.ZodType>(schema: S, event: unknown, handler: string): z.output<S> {
  const r = schema.safeParse(event);
  if (!r.success) throw new InvalidEventError(`${handler}: invalid event: ${formatIssues(r.error).join('; ')}`);
  return r.data;
}
