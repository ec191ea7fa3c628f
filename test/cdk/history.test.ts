/**
 * Step Functions history size for the 1-billion-row scenario (docs/scaling.md), computed from the
 * synthesized definitions: the parent execution's history is small and does not depend on the segment
 * count (segments run as Distributed Map child executions), and every child execution — one segment,
 * looping a Lambda call until done — stays under the 25,000-event limit, with retries and redrives.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  HISTORY_LIMIT,
  HistoryEvents,
  distributedMapsOf,
  executionHistory,
  historyWithRedrives,
  loopsOf,
  type AslGraph,
  type HistoryAssumptions,
  type Loop,
} from '../helpers/history-model.js';
import { Scenario, callsFor, copyRowsPerSecPerSegment, largestSegmentRows, rowsPerCall } from '../helpers/scale-scenario.js';
import { stateMachinesOf, synthTemplate } from '../helpers/synth.js';

/**
 * Rows one call of each loop's Lambda handles. The walker finds loops by shape (a cycle with a Task and a
 * Choice); only here does a Task name matter. A loop with a Task not listed fails the test by name: add its model.
 */
const ROWS_PER_CALL: Record<string, number> = {
  // copy-batch: pages of copy.pageSize until copy.timeBudgetSeconds (README: 38–40k rows/s; throttled per segment).
  CopyBatch: rowsPerCall(copyRowsPerSecPerSegment),
  // verify-batch: batches of verify.batchRows until verify.timeBudgetSeconds, assumed no faster than the copy (conservative).
  VerifyBatch: rowsPerCall(Math.min(Scenario.assumedVerifyRowsPerSec, copyRowsPerSecPerSegment)),
};

/**
 * Iterations of loops in a parent execution (none today), keyed by the loop's sorted state names joined
 * with commas. A polling loop there (e.g. waiting for CDC lag) runs in the parent's single history.
 */
const PARENT_LOOP_ITERATIONS: Record<string, number> = {};

function perCallOf(loop: Loop): number {
  const modelled = loop.tasks.filter((t) => ROWS_PER_CALL[t] !== undefined);
  if (modelled.length !== 1)
    throw new Error(`loop [${loop.states.join(', ')}]: add the rows one call of its Task (${loop.tasks.join(', ') || 'none'}) handles to ROWS_PER_CALL`);
  return ROWS_PER_CALL[modelled[0]!]!;
}

/** Assumptions for a child execution over a segment of `rows` rows. */
const segmentOf = (rows: number, retries: number | 'budget' = 0): HistoryAssumptions => ({
  iterations: (loop) => callsFor(rows, perCallOf(loop)),
  retriesPerTask: retries,
});

describe('Step Functions history for 1 billion rows', () => {
  let machines: { logicalId: string; definition: AslGraph }[];

  beforeAll(() => {
    machines = stateMachinesOf(synthTemplate()).map((m) => ({ logicalId: m.logicalId, definition: m.definition as unknown as AslGraph }));
  });

  it('the scenario is the documented one', () => {
    expect(Scenario.pageSize).toBe(20_000);
    expect(Scenario.timeBudgetSeconds).toBe(600);
    expect(copyRowsPerSecPerSegment).toBe(25_000); // 200,000 rows/s over 8 segments at once
    expect(ROWS_PER_CALL.CopyBatch).toBe(15_000_000);
    // 1e9 / 64 + 12,500 inserts/s for a day, all in the open-ended last segment.
    expect(largestSegmentRows).toBe(15_625_000 + 1_080_000_000);
  });

  it('every state machine with segments runs them in Distributed Maps whose item processor loops Task → Choice → Task', () => {
    const maps = machines.flatMap((m) => distributedMapsOf(m.definition));
    expect(maps.length).toBeGreaterThanOrEqual(1);
    for (const { name, processor } of maps) {
      const loops = loopsOf(processor);
      expect(loops, `${name}: one loop per item processor`).toHaveLength(1);
      expect(loops[0]!.tasks.length, `${name}: a Task in the loop`).toBeGreaterThanOrEqual(1);
      expect(loops[0]!.choices.length, `${name}: a Choice in the loop`).toBeGreaterThanOrEqual(1);
    }
  });

  it('(a) the parent execution is small and the same for 1 or 4,000 segments', () => {
    for (const { logicalId, definition } of machines) {
      for (const loop of loopsOf(definition))
        expect(PARENT_LOOP_ITERATIONS[loop.states.join(',')], `${logicalId}: the parent loops over [${loop.states.join(', ')}]: each iteration adds to its one history; model its iterations in PARENT_LOOP_ITERATIONS`).toBeDefined();
      const iterations = (loop: Loop) => PARENT_LOOP_ITERATIONS[loop.states.join(',')]!;
      const at = (segments: number) =>
        executionHistory(definition, { iterations, inlineMapItems: segments, retriesPerTask: Scenario.retriesPerCall }).events;
      // An Inline Map would run its items inside the parent (inlineMapItems counts); Distributed Maps do not.
      expect(at(1), logicalId).toBe(at(4000));
      expect(at(Scenario.segments), logicalId).toBeLessThan(200);
      // Plan + Finalize (+ any other Task) and a constant per Distributed Map.
      const noRetries = executionHistory(definition, { iterations, inlineMapItems: 1 }).events;
      expect(noRetries).toBeGreaterThanOrEqual(HistoryEvents.execution + 2 * HistoryEvents.task + HistoryEvents.distributedMap);
    }
  });

  describe('(b) each child execution (one segment) stays under 25,000 events', () => {
    const children = () => machines.flatMap((m) => distributedMapsOf(m.definition).map((d) => ({ ...d, machine: m.logicalId })));

    it('each loop iteration costs its states\' events: 7 for Task (5) + Choice (2), plus 3 per retried attempt', () => {
      for (const { name, processor } of children()) {
        const h = (calls: number, retries = 0) => executionHistory(processor, { iterations: () => calls, retriesPerTask: retries }).events;
        const [loop] = loopsOf(processor);
        const perIteration = loop!.states.reduce((n, s) => {
          const t = processor.States[s]!.Type;
          return n + (t === 'Task' ? HistoryEvents.task : t === 'Choice' ? HistoryEvents.choice : 2);
        }, 0);
        expect(h(101) - h(100), name).toBe(perIteration);
        expect(h(101, 2) - h(100, 2), name).toBe(perIteration + 2 * HistoryEvents.failedAttempt * loop!.tasks.length);
        if (loop!.states.length === 2) expect(perIteration, name).toBe(7);
      }
    });

    it('for the largest segment: no retries, every call retried twice, and three redrives', () => {
      for (const { name, processor } of children()) {
        const clean = executionHistory(processor, segmentOf(largestSegmentRows));
        const retried = executionHistory(processor, segmentOf(largestSegmentRows, Scenario.retriesPerCall));
        const redriven = historyWithRedrives(retried, Scenario.redrivesPerSegment);
        expect(clean.events, `${name}: ${clean.path.join(' → ')}`).toBeLessThan(HISTORY_LIMIT);
        expect(retried.events, name).toBeLessThan(HISTORY_LIMIT);
        expect(redriven, name).toBeLessThan(HISTORY_LIMIT);
        // ~7·N + a constant: the loop dominates and the constant is small.
        const [loop] = clean.loops;
        expect(clean.events - loop!.iterations * loop!.eventsPerIteration, name).toBeLessThan(20);
      }
    });

    it('the bound holds with room to spare: the slowest per-segment copy rate that would still fit', () => {
      for (const { name, processor } of children()) {
        const retried = executionHistory(processor, segmentOf(largestSegmentRows, Scenario.retriesPerCall));
        const [loop] = retried.loops;
        const constant = historyWithRedrives(retried, Scenario.redrivesPerSegment) - loop!.iterations * loop!.eventsPerIteration;
        const maxCalls = Math.floor((HISTORY_LIMIT - 1 - constant) / loop!.eventsPerIteration);
        const minRowsPerCall = Math.ceil(largestSegmentRows / maxCalls);
        // Fewer than 1,000 rows/s per segment (a 600 s budget) would still keep the largest segment under the limit.
        expect(minRowsPerCall / Scenario.timeBudgetSeconds, name).toBeLessThan(1000);
        expect(loop!.iterations, name).toBeLessThan(maxCalls);
      }
    });
  });
});

describe('history model', () => {
  const lambda = (extra: object = {}) => ({ Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', ...extra });
  const loopChild = (task: string, choice: string, extraStates: Record<string, object> = {}): AslGraph =>
    ({
      StartAt: task,
      States: {
        [task]: lambda({ Next: choice, Retry: [{ ErrorEquals: ['TransientError'], MaxAttempts: 6 }], Catch: [{ ErrorEquals: ['States.ALL'], Next: `${task}Failed` }] }),
        [choice]: { Type: 'Choice', Choices: [{ Variable: '$.done', BooleanEquals: true, Next: `${task}Done` }], Default: task },
        [`${task}Done`]: { Type: 'Succeed' },
        [`${task}Failed`]: lambda({ Next: `${task}Fail` }),
        [`${task}Fail`]: { Type: 'Fail', Error: 'SegmentFailedError' },
        ...extraStates,
      },
    }) as unknown as AslGraph;
  const distributed = (processor: AslGraph, next: string) => ({ Type: 'Map', ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' }, ...processor }, Next: next });

  it('counts a single Lambda Task: execution 2 + task 5; each retried attempt 3 more', () => {
    const g = { StartAt: 'T', States: { T: lambda({ End: true, Retry: [{ ErrorEquals: ['X'], MaxAttempts: 2 }] }) } } as unknown as AslGraph;
    expect(executionHistory(g, { iterations: () => 1 }).events).toBe(7);
    expect(executionHistory(g, { iterations: () => 1, retriesPerTask: 5 }).events).toBe(7 + 2 * 3); // capped at MaxAttempts
    expect(executionHistory(g, { iterations: () => 1, retriesPerTask: 'budget' }).events).toBe(13);
  });

  it('counts a Task → Choice loop N times, then the Succeed state', () => {
    const child = loopChild('CopyBatch', 'SegmentCopied?');
    expect(executionHistory(child, { iterations: () => 3 }).events).toBe(2 + 3 * 7 + 2);
    // One persistent failure: CopyBatch with its 6 retries all failed and caught (2 + 3·7), MarkFailed (5), Fail (1).
    expect(executionHistory(child, { iterations: () => 3 }).failureOverhead).toBe(2 + 3 * 7 + 5 + 1);
  });

  it('handles any number of Distributed Maps and loops (copy, then verify with a Pass in its loop)', () => {
    const verify = loopChild('VerifyBatch', 'SegmentVerified?', {});
    const verifyWithPass = {
      ...verify,
      States: {
        ...verify.States,
        VerifyBatch: { ...verify.States.VerifyBatch!, Next: 'Count' },
        Count: { Type: 'Pass', Next: 'SegmentVerified?' },
      },
    } as AslGraph;
    const parent = {
      StartAt: 'Plan',
      States: {
        Plan: lambda({ Next: 'CopySegments' }),
        CopySegments: distributed(loopChild('CopyBatch', 'SegmentCopied?'), 'VerifySegments'),
        VerifySegments: distributed(verifyWithPass, 'Finalize'),
        Finalize: lambda({ End: true }),
      },
    } as unknown as AslGraph;
    const maps = distributedMapsOf(parent);
    expect(maps.map((m) => m.name)).toEqual(['CopySegments', 'VerifySegments']);
    expect(loopsOf(parent)).toEqual([]);
    expect(executionHistory(parent, { iterations: () => 1 }).events).toBe(2 + 5 + 6 + 6 + 5);
    const [copy, check] = maps.map((m) => executionHistory(m.processor, { iterations: (l) => (l.tasks[0] === 'CopyBatch' ? 10 : 20) }));
    expect(copy!.events).toBe(2 + 10 * 7 + 2);
    expect(check!.loops[0]!.loop).toEqual({ states: ['Count', 'SegmentVerified?', 'VerifyBatch'], tasks: ['VerifyBatch'], choices: ['SegmentVerified?'] });
    expect(check!.events).toBe(2 + 20 * 9 + 2);
  });

  it('an Inline Map counts its items in the parent, a Distributed Map does not', () => {
    const inner = { StartAt: 'T', States: { T: lambda({ End: true }) } };
    const g = (mode: string) =>
      ({ StartAt: 'M', States: { M: { Type: 'Map', ItemProcessor: { ProcessorConfig: { Mode: mode }, ...inner }, End: true } } }) as unknown as AslGraph;
    expect(executionHistory(g('INLINE'), { iterations: () => 1, inlineMapItems: 100 }).events).toBe(2 + 4 + 100 * (2 + 5));
    expect(executionHistory(g('DISTRIBUTED'), { iterations: () => 1, inlineMapItems: 100 }).events).toBe(2 + 6);
  });

  it('refuses a loop without an iteration count', () => {
    expect(() => executionHistory(loopChild('CopyBatch', 'Again?'), { iterations: () => 0 })).toThrow(/iterations must be ≥ 1/);
  });
});
