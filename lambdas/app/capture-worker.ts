/**
 * The capture worker thread (`capture-pipeline.ts` starts it and keeps it for later reads): reads the binlog
 * and packs the events into messages here, so capture's own thread only sends and checkpoints. For each read
 * it is given, it posts each flush, then the read's result (or its error); it waits whenever `ahead` flushes
 * were posted that capture has not taken yet, which holds the reader and so pauses the binlog connection.
 */
import { parentPort } from 'node:worker_threads';
import { readChanges } from '../adapters/binlog/reader.js';
import { loadRouter } from './build-context.js';
import { FlushBuffer, packerFor } from './capture-pack.js';
import { workerError, type FromWorker, type ToWorker, type WorkerRead } from './capture-pipeline.js';

const port = parentPort!;
const post = (m: FromWorker) => port.postMessage(m);

let untaken = 0;
let taken: (() => void) | undefined;

port.on('message', (m: ToWorker) => {
  if (m.kind === 'taken') {
    untaken--;
    taken?.();
  } else void run(m);
});
post({ kind: 'ready' });

async function run({ read, pack, ahead }: WorkerRead): Promise<void> {
  untaken = 0;
  try {
    const packer = packerFor({ config: pack.config, routeFn: await loadRouter(pack.config), ...(pack.reverse ? { reverse: true } : {}) }, pack.dedupPrefix);
    const buffer = new FlushBuffer(pack.sendEvents, pack.maxBufferMs);
    const flush = async () => {
      const events = buffer.take();
      if (!events.length) return;
      post({ kind: 'flush', flush: { messages: packer(events), events: events.length, lastEventAt: events[events.length - 1]!.timestamp, postedAt: Date.now() } });
      untaken++;
      // Backpressure: the reader takes nothing more until capture took enough of what was posted.
      while (untaken > ahead) await new Promise<void>((resolve) => (taken = resolve));
    };
    const result = await readChanges({
      ...read,
      onBatch: async (batch) => {
        if (buffer.add(batch)) await flush();
      },
    });
    await flush();
    post({ kind: 'done', result });
  } catch (err) {
    post({ kind: 'error', error: workerError(err) });
  }
}
