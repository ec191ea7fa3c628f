/** Verification's options, requests and results. */
import type { VerifyCounts } from '../../core/verify-counts.js';
import type { VerifyStatus } from '../../core/model.js';

export type { VerifyCounts } from '../../core/verify-counts.js';

export interface VerifyOptions {
  /** Rows per batch. @default config.verify.batchRows */
  readonly batchRows?: number;
  /** @default config.verify.repair */
  readonly repair?: boolean;
  /** Dirty rows kept per batch in the state (the counts are always exact). @default 200 */
  readonly keepDirty?: number;
  /**
   * Waits until changes in flight have been applied (CDC lag past now). A batch that differs is compared
   * again after it, so a change the source made but CDC has not applied yet is not called dirty (nor
   * "repaired" from a read that CDC is about to overwrite anyway).
   */
  readonly settle?: () => Promise<void>;
}

export interface VerifySummary extends VerifyCounts {
  readonly table: string;
}

export interface VerifySegmentRequest {
  readonly table: string;
  readonly segment: number;
  /** Where the previous call stopped (`null`: start of the segment, forgetting its previous verification). */
  readonly cursor: string | null;
  /** Index of the next batch within the segment. */
  readonly batch: number;
  /** Stop starting new batches after this long. @default unlimited */
  readonly budgetMs?: number;
}

export interface VerifySegmentResult extends VerifyCounts {
  readonly table: string;
  readonly segment: number;
  readonly done: boolean;
  readonly cursor: string | null;
  readonly batch: number;
  /** When done: the segment's outcome over all its batches. */
  readonly status?: VerifyStatus;
}
