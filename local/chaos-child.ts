/**
 * A chaos child: the runtime side of a chaos run (`chaos.ts`) in a process of its own, so that the chaos
 * suite can kill it with SIGKILL and start another on the same state directory. Given a `ChaosChildInput`
 * file, it starts the runtime with AWS faults on its clients, executes until an execution succeeds, then
 * waits for `drain` on stdin and lets CDC reach lag 0. It reports on stdout, one per line: `phase <name>`
 * (copy, verify, finalize as their Lambdas are invoked; apply while change messages are applied), `fault
 * <kind>`, `restart`, `copied`, and last `done {"retries": n}`.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { logger } from '../lambdas/handlers/common.js';
import { executeUntilDone, FaultPlan, phaseOfHandler, retriesOf, startChaosRuntime, type ChaosChildInput } from './chaos.js';

const input = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as ChaosChildInput;
const say = (line: string) => process.stdout.write(`${line}\n`);
logger.setLogLevel('ERROR');
const plan = new FaultPlan(input.seed, input.budget);
plan.onInject = (kind) => say(`fault ${kind}`);
const rt = await startChaosRuntime({
  config: input.config,
  plan,
  rate: input.rate,
  stateDir: input.stateDir,
  onTask: (h) => {
    const phase = phaseOfHandler(h);
    if (phase) say(`phase ${phase}`);
  },
  log: (line) => say(`log ${line}`),
});
// Apply runs beside the state machine: tell when it applies messages, at most twice a second.
let applied = 0;
const applying = setInterval(() => {
  const now = rt.cdc!.poller.processed;
  if (now !== applied) say('phase apply');
  applied = now;
}, 500);
await executeUntilDone(rt, (line) => say(`log ${line}`), () => say('restart'));
clearInterval(applying);
plan.active = false;
say('copied');
// The parent stops its writer and faults first: CDC then drains to lag 0.
const lines = createInterface({ input: process.stdin });
await new Promise<void>((resolve) => lines.on('line', (l) => l.trim() === 'drain' && resolve()));
lines.close();
await rt.cdc!.drain(10 * 60_000);
say(`done ${JSON.stringify({ retries: await retriesOf(rt) })}`);
await rt.close();
