/**
 * Typed errors. `name` is what Step Functions matches in Retry/Catch `ErrorEquals`
 * (Lambda reports `errorType` = error.name), so names are part of the contract.
 */
export class ReshardError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A configuration file that does not validate; `issues` names each field at fault. */
export class ConfigError extends ReshardError {
  constructor(
    message: string,
    public readonly issues: readonly string[] = [],
  ) {
    super(issues.length ? `${message}\n  - ${issues.join('\n  - ')}` : message);
  }
}

/** The source or target schema cannot serve the migration (missing index, differing columns, ...). */
/** The server refused the login (wrong user or password, e.g. after a rotation; or a TLS-only server). */
export class AccessDeniedError extends ConfigError {}

export class SchemaError extends ReshardError {}

/** A row that cannot be routed (shard key NULL, non-numeric, ...). Never retried: the batch is recorded failed. */
export class RowRoutingError extends ReshardError {
  constructor(
    message: string,
    public readonly table: string,
    public readonly rowKey: unknown,
  ) {
    super(message);
  }
}

/** A failure that may succeed when tried again (lost connection, deadlock, throttling). Retried by the state machine. */
export class TransientError extends ReshardError {}

/** Another worker holds the segment's lease and it has not expired. Retried with backoff. */
export class LeaseHeldError extends ReshardError {
  constructor(
    message: string,
    public readonly owner: string | undefined,
    public readonly expiresAt: number | undefined,
  ) {
    super(message);
  }
}

/** This worker lost its lease (expired and taken over, or fenced by a newer token): it must stop writing state. */
export class LeaseLostError extends ReshardError {
  constructor(
    message: string,
    public readonly current?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** Raised by finalize when one or more segments ended FAILED, so the execution ends FAILED. */
export class SegmentsFailedError extends ReshardError {
  constructor(
    message: string,
    public readonly failed: readonly { table: string; segment: number; error?: string }[],
  ) {
    super(message);
  }
}

/** Verification found rows that differ and were not repaired (the execution fails so an alarm fires). */
export class VerificationDirtyError extends ReshardError {
  constructor(
    message: string,
    public readonly dirty: readonly { table: string; segment: number; error?: string }[],
  ) {
    super(message);
  }
}

/** Serialises any thrown value to a short, single-line description (for checkpoints and logs). */
export function describeError(err: unknown, max = 1000): string {
  let text: string;
  if (err instanceof Error) {
    text = `${err.name}: ${err.message}`;
    // A batch whose every record failed (Powertools' FullBatchFailureError) carries each record's error.
    const children = (err as { recordErrors?: unknown }).recordErrors;
    if (Array.isArray(children) && children[0] instanceof Error) text += ` (first: ${children[0].name}: ${children[0].message})`;
  } else text = String(err);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** A Lambda event that does not match the handler's schema; names the fields at fault. */
export class InvalidEventError extends ReshardError {}

/** Capture of a source server is stopped before a DDL until the operator deals with it (`reshard ddl apply|skip`). */
export class CapturePausedError extends ReshardError {}

/**
 * The endpoint of a source server now reaches another server (a failover, a moved DNS name) than the one whose
 * binlog position capture holds: capture of it is stopped until the operator says where to go on
 * (`reshard capture-source accept`).
 */
export class SourceChangedError extends ReshardError {}
