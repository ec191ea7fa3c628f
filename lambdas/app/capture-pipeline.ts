/**
 * Capture as a pipeline over two threads: a worker thread (`capture-worker.ts`) reads the binlog and packs
 * (zongji's row parsing, event conversion, JSON), capture's own thread compresses, sends and checkpoints.
 * Flushes cross as packed messages (strings: cheap to copy, unlike event objects). The queue between the two
 * is bounded: the worker posts at most `AHEAD` flushes capture has not taken, and capture takes a flush only
 * once its sends are close enough behind (`captureRun`), so a slow SQS slows the read — the worker's reader
 * stops taking events and the binlog connection pauses — and nothing buffers without bound. Flushes are
 * posted, taken and sent in the order read; the read's result (its resumable position) arrives after its last
 * flush was taken, and capture checkpoints it only once every flush was sent.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ReadChangesOptions, ReadChangesResult } from '../adapters/binlog/reader.js';
import { BinlogPositionError } from '../adapters/binlog/stream.js';
import { AccessDeniedError, ConfigError, ReshardError, SchemaError, TransientError } from '../core/errors.js';
import { CAPTURE_WORKER_FILE } from '../core/runtime-env.js';
import type { PackedFlush, PackRequest } from './capture-pack.js';

/** A read as the worker runs it: `readChanges`' options less the callbacks. */
export type WorkerReadOptions = Omit<ReadChangesOptions, 'onBatch' | 'signal'>;

/** Capture's thread to the worker: a read to run, or "the oldest flush posted was taken". */
export type ToWorker = WorkerRead | { readonly kind: 'taken' };
export interface WorkerRead {
  readonly kind: 'read';
  readonly read: WorkerReadOptions;
  readonly pack: PackRequest;
  /** Flushes posted and not yet taken after which the worker waits. */
  readonly ahead: number;
}

/** The worker to capture's thread: that it has loaded; for a read, its packed flushes, then its result or error. */
export type FromWorker =
  | { readonly kind: 'ready' }
  | { readonly kind: 'flush'; readonly flush: PackedFlush } | { readonly kind: 'done'; readonly result: ReadChangesResult } | { readonly kind: 'error'; readonly error: WorkerError };

/** An error as it crosses from the worker: what rebuilds it as the same typed error. */
export interface WorkerError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string | undefined;
  readonly issues?: readonly string[] | undefined;
}

/** Flushes the worker may post ahead of capture taking them. */
const AHEAD = 2;

/** The typed errors a read fails with, by name: they keep their class across the thread boundary. */
const TYPED: Record<string, new (message: string) => Error> = { AccessDeniedError, ConfigError, SchemaError, TransientError, BinlogPositionError, ReshardError };

export function workerError(err: unknown): WorkerError {
  const e = err instanceof Error ? err : new Error(String(err));
  const issues = (e as { issues?: unknown }).issues;
  return { name: e.name, message: e.message, stack: e.stack, ...(Array.isArray(issues) ? { issues: issues.map(String) } : {}) };
}

/** The error `workerError` described, as its own class when it is one of ours (else a ReshardError naming it). */
function errorOf(w: WorkerError): Error {
  const Typed = TYPED[w.name];
  const err = Typed ? new Typed(w.message) : new ReshardError(`${w.name}: ${w.message}`);
  if (w.issues) Object.defineProperty(err, 'issues', { value: w.issues, enumerable: true });
  if (w.stack) err.stack = w.stack;
  return err;
}

/**
 * The worker's file: beside this module when running from the sources (tsx), else beside the bundle's entry
 * (lib/ bundles it there as CAPTURE_WORKER_FILE). Undefined where it is missing: capture then reads on its
 * own thread.
 */
export function captureWorkerFile(): URL | undefined {
  const url = new URL(import.meta.url.endsWith('.ts') ? './capture-worker.ts' : `./${CAPTURE_WORKER_FILE}`, import.meta.url);
  return existsSync(fileURLToPath(url)) ? url : undefined;
}

/** Workers between reads (kept: starting one costs more than a short read), and how many are reading. */
const idle: Worker[] = [];
let reading = 0;
/** Per worker: resolves once it has loaded (or ended). */
const loaded = new WeakMap<Worker, Promise<void>>();

function startWorker(file: URL): Worker {
  // From the sources the worker needs the TypeScript loader, which a test runner's process may not have.
  // (Otherwise it inherits this thread's options.)
  const ts = file.pathname.endsWith('.ts') && !process.execArgv.some((a) => a.includes('tsx'));
  const worker = new Worker(file, ts ? { execArgv: ['--import', 'tsx'] } : {});
  // A worker that fails or ends between reads is dropped (a read in progress hears it through its own listeners).
  const drop = () => {
    const i = idle.indexOf(worker);
    if (i >= 0) idle.splice(i, 1);
  };
  worker.on('error', drop);
  worker.once('exit', drop);
  loaded.set(
    worker,
    new Promise<void>((resolve) => {
      const done = () => {
        worker.off('message', done);
        worker.off('exit', done);
        resolve();
      };
      worker.on('message', done); // its first message says it has loaded
      worker.on('exit', done);
    }),
  );
  return worker;
}

/**
 * Starts a worker for the next read unless one is ready or reading, so that it loads while capture takes its
 * lease and reads its columns. Resolves once the next read's worker has loaded (at once when none waits).
 */
export function prewarmCaptureWorker(file = captureWorkerFile()): Promise<void> {
  if (!file || reading) return Promise.resolve();
  if (!idle.length) {
    const worker = startWorker(file);
    idle.push(worker);
    // Held while it loads (so it can be awaited); then it waits without keeping the process alive.
    void loaded.get(worker)!.then(() => {
      if (idle.includes(worker)) worker.unref();
    });
  }
  return loaded.get(idle[idle.length - 1]!) ?? Promise.resolve();
}

/**
 * Runs one read in a worker (`file`: `captureWorkerFile()`), handing each packed flush to `onPacked` in order
 * and awaiting it before the next; resolves with the read's result once the last flush was taken. A failed
 * `onPacked` (a send failed) ends the worker and rejects; so does a failed read, with the worker's typed error.
 */
export function readPackedInWorker(
  read: WorkerReadOptions,
  pack: PackRequest & { readonly onPacked: (flush: PackedFlush) => Promise<void> },
  file: URL,
): Promise<ReadChangesResult> {
  const worker = idle.pop() ?? startWorker(file);
  worker.ref();
  reading++;
  const { onPacked, ...request } = pack;
  return new Promise<ReadChangesResult>((resolve, reject) => {
    let taking: Promise<void> = Promise.resolve();
    let ended = false;
    const end = (err?: unknown, result?: ReadChangesResult) => {
      if (ended) return;
      ended = true;
      reading--;
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (err === undefined) {
        worker.unref();
        idle.push(worker);
        resolve(result!);
      } else {
        void worker.terminate();
        reject(err instanceof Error ? err : new ReshardError(`the capture worker failed: ${JSON.stringify(err)}`));
      }
    };
    const onError = (err: unknown) => end(new ReshardError(`the capture worker failed: ${(err as Error).message}`, { cause: err }));
    const onExit = (code: number) => end(new ReshardError(`the capture worker exited (code ${code}) before its read ended`));
    const onMessage = (m: FromWorker) => {
      if (m.kind === 'flush') {
        taking = taking.then(async () => {
          if (ended) return; // the read failed: nothing more is sent
          await onPacked(m.flush);
          if (!ended) worker.postMessage({ kind: 'taken' } satisfies ToWorker);
        });
        taking.catch((err: unknown) => end(err));
      } else if (m.kind === 'done') taking.then(() => end(undefined, m.result), () => undefined);
      else if (m.kind === 'error') end(errorOf(m.error));
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage({ kind: 'read', read, pack: request, ahead: AHEAD } satisfies ToWorker);
  });
}
