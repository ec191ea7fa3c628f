/**
 * A model of Step Functions execution history size, computed from an ASL definition (pure, no AWS).
 *
 * Standard workflows stop at 25,000 history events per execution. The events each state writes
 * (the `HistoryEvent` types of the Step Functions API):
 * - an execution: ExecutionStarted + one terminal event (ExecutionSucceeded / Failed / …)       = 2
 * - a Task that succeeds: TaskStateEntered, TaskScheduled, TaskStarted, TaskSucceeded,
 *   TaskStateExited                                                                                = 5
 * - each failed attempt that is retried (or caught): TaskScheduled, TaskStarted, TaskFailed       = 3
 * - Choice / Pass / Wait / Succeed: <Type>StateEntered + <Type>StateExited                        = 2
 * - Fail: FailStateEntered (the execution's terminal event is counted with the execution)         = 1
 * - a Distributed Map, in the PARENT: MapStateEntered, MapStateStarted, MapRunStarted,
 *   MapRunSucceeded, MapStateSucceeded, MapStateExited — a constant, whatever the item count:
 *   each item runs as a child execution with its own history and its own 25,000-event limit       = 6
 * - an Inline Map runs its iterations inside the parent: MapStateEntered, MapStateStarted,
 *   MapStateSucceeded, MapStateExited + per item MapIterationStarted/Succeeded + the item's events = 4 + n·(2 + …)
 * - Parallel: ParallelStateEntered/Started/Succeeded/Exited + every branch's events               = 4 + Σ
 * - a redrive of a failed execution appends ExecutionRedriven to the same history                 = 1
 *
 * The walker finds loops generically (strongly connected components of the transition graph, such as
 * `CopyBatch → SegmentCopied? → CopyBatch`), asks the caller how many times each loop runs, and takes the
 * longest path through the resulting DAG. It assumes nothing about state names.
 */

export interface AslRetrier {
  readonly ErrorEquals: readonly string[];
  readonly MaxAttempts?: number;
}
export interface AslCatcher {
  readonly ErrorEquals: readonly string[];
  readonly Next: string;
}
export interface AslGraph {
  readonly StartAt: string;
  readonly States: Readonly<Record<string, AslState>>;
}
export interface AslState {
  readonly Type: string;
  readonly Next?: string;
  readonly End?: boolean;
  readonly Default?: string;
  readonly Choices?: readonly { readonly Next: string }[];
  readonly Retry?: readonly AslRetrier[];
  readonly Catch?: readonly AslCatcher[];
  readonly ItemProcessor?: AslGraph & { readonly ProcessorConfig?: { readonly Mode?: string } };
  readonly Iterator?: AslGraph;
  readonly Branches?: readonly AslGraph[];
}

/** Events per state or execution, as listed above. */
export const HistoryEvents = {
  execution: 2,
  redrive: 1,
  task: 5,
  failedAttempt: 3,
  choice: 2,
  pass: 2,
  wait: 2,
  succeed: 2,
  fail: 1,
  distributedMap: 6,
  inlineMap: 4,
  inlineIteration: 2,
  parallel: 4,
} as const;

/** The hard quota of a Standard workflow execution. */
export const HISTORY_LIMIT = 25_000;

/** ASL's default `MaxAttempts` when a retrier leaves it out. */
const DEFAULT_MAX_ATTEMPTS = 3;

/** A cycle of the transition graph, e.g. `CopyBatch → SegmentCopied? → CopyBatch`. */
export interface Loop {
  /** Every state of the cycle (its strongly connected component), sorted. */
  readonly states: readonly string[];
  /** The Task states of the cycle: the work one iteration does. */
  readonly tasks: readonly string[];
  /** The Choice states of the cycle: what decides to go round again. */
  readonly choices: readonly string[];
}

export interface HistoryAssumptions {
  /** How many times a loop runs in one execution (one iteration = one pass through every state of it). */
  readonly iterations: (loop: Loop) => number;
  /**
   * Failed attempts before each Task entry succeeds: a number (capped, per entry, at the Task's retry
   * budget: the sum of its retriers' `MaxAttempts`), or `'budget'` for the whole budget every time.
   * @default 0
   */
  readonly retriesPerTask?: number | 'budget';
  /** Items of an Inline Map (they run inside the execution's own history). */
  readonly inlineMapItems?: number;
}

export interface LoopCost {
  readonly loop: Loop;
  readonly iterations: number;
  readonly eventsPerIteration: number;
}

export interface ExecutionHistory {
  /** Events of the longest successful path, ExecutionStarted and the terminal event included. */
  readonly events: number;
  /** The states of that path in order (a loop shows as `[A ⟲ B]`). */
  readonly path: readonly string[];
  readonly loops: readonly LoopCost[];
  /** Events added by one persistent failure of a Task (retries exhausted, then caught, the catch path to its end). */
  readonly failureOverhead: number;
}

/** Total failed attempts one entry of `state` may make before it is caught or fails the execution. */
function retryBudget(state: AslState): number {
  return (state.Retry ?? []).reduce((n, r) => n + (r.MaxAttempts ?? DEFAULT_MAX_ATTEMPTS), 0);
}

function successors(state: AslState): string[] {
  const out: string[] = [];
  if (state.Next) out.push(state.Next);
  if (state.Type === 'Choice') {
    for (const c of state.Choices ?? []) out.push(c.Next);
    if (state.Default) out.push(state.Default);
  }
  return out;
}

const isTerminal = (s: AslState) => s.End === true || s.Type === 'Succeed' || s.Type === 'Fail';

/** Tarjan's strongly connected components over the success transitions (Next, Choices, Default). */
function components(graph: AslGraph): string[][] {
  const names = Object.keys(graph.States);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of successors(stateOf(graph, v))) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      out.push(comp.sort());
    }
  };
  for (const n of names) if (!index.has(n)) visit(n);
  return out;
}

function stateOf(graph: AslGraph, name: string): AslState {
  const s = graph.States[name];
  if (!s) throw new Error(`transition to unknown state ${name}`);
  return s;
}

/** The loops of one state graph (not of nested Map / Parallel graphs). */
export function loopsOf(graph: AslGraph): Loop[] {
  return components(graph)
    .filter((c) => c.length > 1 || successors(stateOf(graph, c[0]!)).includes(c[0]!))
    .map((states) => ({
      states,
      tasks: states.filter((s) => stateOf(graph, s).Type === 'Task'),
      choices: states.filter((s) => stateOf(graph, s).Type === 'Choice'),
    }));
}

/** Every Distributed Map in the graph (and in nested Parallel branches / inline Maps), with its child workflow. */
export function distributedMapsOf(graph: AslGraph): { name: string; processor: AslGraph }[] {
  const out: { name: string; processor: AslGraph }[] = [];
  for (const [name, s] of Object.entries(graph.States)) {
    const processor = s.ItemProcessor ?? s.Iterator;
    if (s.Type === 'Map' && processor) {
      if (s.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED') out.push({ name, processor });
      else out.push(...distributedMapsOf(processor));
    }
    for (const b of s.Branches ?? []) out.push(...distributedMapsOf(b));
  }
  return out;
}

function retriesFor(state: AslState, a: HistoryAssumptions): number {
  const budget = retryBudget(state);
  const r = a.retriesPerTask ?? 0;
  return r === 'budget' ? budget : Math.min(r, budget);
}

/** Events one successful entry of a state writes into the execution's own history. */
function stateEvents(state: AslState, a: HistoryAssumptions): number {
  switch (state.Type) {
    case 'Task':
      return HistoryEvents.task + HistoryEvents.failedAttempt * retriesFor(state, a);
    case 'Choice':
      return HistoryEvents.choice;
    case 'Pass':
      return HistoryEvents.pass;
    case 'Wait':
      return HistoryEvents.wait;
    case 'Succeed':
      return HistoryEvents.succeed;
    case 'Fail':
      return HistoryEvents.fail;
    case 'Map': {
      const processor = state.ItemProcessor ?? state.Iterator;
      if (!processor) throw new Error('a Map state without ItemProcessor');
      if (state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED') return HistoryEvents.distributedMap;
      if (a.inlineMapItems === undefined) throw new Error('an Inline Map runs its items inside this execution: give inlineMapItems');
      return HistoryEvents.inlineMap + a.inlineMapItems * (HistoryEvents.inlineIteration + pathEvents(processor, a).events);
    }
    case 'Parallel':
      return HistoryEvents.parallel + (state.Branches ?? []).reduce((n, b) => n + pathEvents(b, a).events, 0);
    default:
      throw new Error(`no history model for state type ${state.Type}`);
  }
}

/**
 * Events of one entry of a Task whose every attempt fails and that leaves through a Catch:
 * TaskStateEntered, (1 + budget) × (TaskScheduled, TaskStarted, TaskFailed), TaskStateExited.
 */
function caughtEvents(state: AslState): number {
  return 2 + HistoryEvents.failedAttempt * (1 + retryBudget(state));
}

interface Path {
  readonly events: number;
  readonly path: string[];
}

/**
 * The longest path of state events (no execution events) from `from` to a terminal state, over the
 * success transitions, each loop counted `iterations` times. With `viaCatch`, Catch transitions are
 * followed too (a caught Task counted with its whole retry budget failed), and any terminal counts.
 */
function longestPath(graph: AslGraph, a: HistoryAssumptions, from: string, viaCatch: boolean): Path & { loops: LoopCost[] } {
  const comps = components(graph);
  const compOf = new Map<string, number>();
  comps.forEach((c, i) => c.forEach((s) => compOf.set(s, i)));
  const loops = new Map<number, LoopCost>();
  for (const loop of loopsOf(graph)) {
    const i = compOf.get(loop.states[0]!)!;
    const eventsPerIteration = loop.states.reduce((n, s) => n + stateEvents(stateOf(graph, s), a), 0);
    const iterations = a.iterations(loop);
    if (!Number.isFinite(iterations) || iterations < 1) throw new Error(`loop [${loop.states.join(', ')}]: iterations must be ≥ 1, got ${iterations}`);
    loops.set(i, { loop, iterations, eventsPerIteration });
  }
  const memo = new Map<string, Path | null>();
  const best = (name: string): Path | null => {
    if (memo.has(name)) return memo.get(name)!;
    memo.set(name, null); // a cycle back into a component being walked is handled by the component below
    const state = stateOf(graph, name);
    const ci = compOf.get(name)!;
    const loop = loops.get(ci);
    // A loop is entered once and left through a transition out of its component.
    const here = loop ? loop.iterations * loop.eventsPerIteration : stateEvents(state, a);
    const members = loop ? loop.loop.states : [name];
    const label = loop ? `[${loop.loop.states.join(' ⟲ ')}]×${loop.iterations}` : name;
    let result: Path | null = null;
    const consider = (p: Path | null, extra: number) => {
      if (p && (!result || p.events + extra > result.events)) result = { events: p.events + extra, path: p.path };
    };
    for (const m of members) {
      const s = stateOf(graph, m);
      if (isTerminal(s) && (viaCatch || s.Type !== 'Fail')) consider({ events: 0, path: [] }, here);
      for (const next of successors(s)) if (compOf.get(next) !== ci) consider(best(next), here);
      if (viaCatch)
        for (const c of s.Catch ?? []) {
          // Leaving through a Catch: this entry of the Task failed instead of succeeding.
          const instead = s.Type === 'Task' ? caughtEvents(s) - stateEvents(s, a) : 0;
          consider(best(c.Next), here + instead);
        }
    }
    const final: Path | null = result === null ? null : { events: (result as Path).events, path: [label, ...(result as Path).path] };
    memo.set(name, final);
    return final;
  };
  const p = best(from);
  if (!p) throw new Error(`no path from ${from} reaches a ${viaCatch ? 'terminal' : 'succeeding terminal'} state`);
  return { ...p, loops: [...loops.values()] };
}

/** Events of a nested graph's successful run (a Parallel branch, an Inline Map item). */
function pathEvents(graph: AslGraph, a: HistoryAssumptions): Path {
  return longestPath(graph, a, graph.StartAt, false);
}

/**
 * History of one execution of `graph` (the top-level machine, or a Distributed Map's item processor,
 * which runs as a child execution) along its longest successful path.
 */
export function executionHistory(graph: AslGraph, a: HistoryAssumptions): ExecutionHistory {
  const ok = longestPath(graph, a, graph.StartAt, false);
  // One persistent failure: the worst Task leaving through a Catch with its whole retry budget spent,
  // then the catch path to its end.
  let failureOverhead = 0;
  for (const [, s] of Object.entries(graph.States)) {
    if (s.Type !== 'Task') continue;
    for (const c of s.Catch ?? []) failureOverhead = Math.max(failureOverhead, caughtEvents(s) + longestPath(graph, a, c.Next, true).events);
    if (!s.Catch?.length) failureOverhead = Math.max(failureOverhead, caughtEvents(s) - 1 /* no TaskStateExited */);
  }
  return { events: HistoryEvents.execution + ok.events, path: ok.path, loops: ok.loops, failureOverhead };
}

/**
 * Upper bound of a child's history when its loop work fails persistently `failures` times and the
 * execution is redriven after each: every failure adds its failed entry and catch path, the execution's
 * failed terminal event and ExecutionRedriven (the redriven run resumes the loop from the checkpoint, so
 * the loop's iterations are not repeated, except the call that failed).
 */
export function historyWithRedrives(h: ExecutionHistory, failures: number): number {
  const perIteration = Math.max(0, ...h.loops.map((l) => l.eventsPerIteration));
  return h.events + failures * (h.failureOverhead + 1 /* ExecutionFailed */ + HistoryEvents.redrive + perIteration);
}
