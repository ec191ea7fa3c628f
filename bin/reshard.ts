#!/usr/bin/env -S node --import tsx
/**
 * reshard CLI (local mode: the synthesized state machine over embedded emulators and real MySQL;
 * `status --state-table` or `--stack` reads a deployed migration's state instead).
 * Every verb exits 0 on success and non-zero on failure; errors name the field, row or segment at fault.
 */
import { Argument, Command, Option } from 'commander';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { configJsonSchema, type MigrationConfig } from '../lambdas/core/config.js';
import { loadConfigFile } from '../lambdas/app/load-config.js';
import { buildContext, closeContext } from '../lambdas/app/build-context.js';
import { plan } from '../lambdas/app/plan.js';
import { migrationStatus, type MigrationView } from '../lambdas/app/status.js';
import { LocalRuntime } from '../local/runtime.js';
import { startProgress } from '../local/progress.js';
import { runDemo } from '../local/demo.js';
import { runShardedDemo } from '../local/demo-sharded.js';
import { verifyTable } from '../lambdas/app/verify.js';
import { resolveDdl, type DdlAction } from '../lambdas/app/ddl.js';
import { acceptSource } from '../lambdas/app/capture-source.js';
import { parsePositionArg, type AcceptAt } from '../lambdas/core/source-change.js';
import type { AppContext } from '../lambdas/app/context.js';
import { abortCutover, cutOver, waitingCutover, type OperatorWait } from '../lambdas/app/cutover.js';
import { reverseConfig } from '../lambdas/core/reverse.js';
import { describeError } from '../lambdas/core/errors.js';
import { cutoverError, followCutover, goLocal, operatorWait, waitFlag } from '../local/cutover.js';
import { SFNClient, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { gatherReport } from '../lambdas/app/report.js';
import { renderReport } from '../local/report-html.js';
import { cdcLine, progressLine } from '../lambdas/core/progress.js';
import type { CdcLag } from '../local/cdc.js';
import { StateStore, dynamoClient } from '../lambdas/adapters/state-store.js';
import { cloudFormationClient, stackOutput } from '../lambdas/adapters/stack-outputs.js';
import { StackOutputs, type StackOutputKey } from '../lambdas/core/stack-outputs.js';
import { ChangeQueue, sqsClient } from '../lambdas/adapters/sqs.js';
import { hostname } from 'node:os';

const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string };

const program = new Command()
  .name('reshard')
  .description('Move MySQL tables into a sharded layout: resumable, checkpointed, verifiable.')
  .version(version, '-V, --version', 'print the version')
  .showHelpAfterError()
  .configureOutput({ outputError: (s, write) => write(s) });

const configOption = new Option('-c, --config <file>', 'migration config (JSON or YAML); see `reshard schema`').makeOptionMandatory();
const stateOption = new Option('--state-dir <dir>', 'where local state (checkpoints) is kept; default .reshard/<migrationId>');

const stateDir = (config: MigrationConfig, dir?: string) => dir ?? join('.reshard', config.migrationId);

function printStatus(view: MigrationView, lag?: CdcLag): void {
  console.log(`migration ${view.migrationId}: ${view.status}`);
  if (view.cutover)
    console.log(`  cut-over: ${view.cutover.status} (freeze ${view.cutover.freeze}${view.cutover.freezeMs !== undefined ? `, writes frozen ${view.cutover.freezeMs} ms` : ''})${view.cutover.error ? `\n    error: ${view.cutover.error}` : ''}`);
  if (view.reverse) {
    const r = view.reverse;
    const events = r.servers.reduce((a, x) => a + x.events, 0);
    console.log(`  reverse replication (${r.migrationId}): ${events.toLocaleString('en-US')} change(s) carried back to the old layout; at ${r.servers.map((x) => `target server #${x.server} ${x.position.file}:${x.position.position}`).join(', ')}`);
    for (const x of r.servers) if (x.paused) console.log(`    PAUSED: ${x.paused}\n      to go on: reshard ddl apply|skip --reverse --server ${x.server}`);
    for (const x of r.servers) if (x.sourceChanged) console.log(`    STOPPED: ${x.sourceChanged}`);
    if (r.rollback) console.log(`  rollback: ${r.rollback.status}${r.rollback.freezeMs !== undefined ? ` (new layout frozen ${r.rollback.freezeMs} ms)` : ''}${r.rollback.error ? `\n    error: ${r.rollback.error}` : ''}`);
  }
  for (const x of view.sourceChanged ?? []) console.log(`  STOPPED: ${x.text}`);
  if (lag) console.log(`  ${cdcLine(lag)}`);
  for (const t of view.tables) {
    const line = progressLine({ table: t.table, copied: t.rowsCopied, total: t.statisticsTotal, etaSeconds: t.etaSeconds, status: t.status });
    console.log(
      `  ${line}  segments ${t.segments.filter((s) => s.status === 'DONE').length}/${t.segments.length} done  verified ${t.verifiedRows.toLocaleString('en-US')}, dirty ${t.dirtyRows}, repaired ${t.repairedRows}${t.complete && (!lag || (lag.caughtUp && lag.backlog === 0)) ? '  COMPLETE' : ''}`,
    );
    if (t.throttled) console.log(`    THROTTLED: ${t.throttled.reason} (segment${t.throttled.segments.length > 1 ? 's' : ''} ${t.throttled.segments.join(', ')}, since ${new Date(t.throttled.since).toISOString()})`);
    if (t.paused) console.log(`    PAUSED at ${t.paused.at} (source server #${t.paused.server}) before: ${t.paused.statement}\n      why: ${t.paused.reason}\n      to go on: ${t.paused.todo}`);
    for (const s of t.segments.filter((x) => x.status !== 'DONE'))
      console.log(`    #${s.segment}${s.source ? ` (${s.source})` : ''} ${s.status} cursor=${s.cursor ?? '(start)'} pages=${s.pagesDone} rows=${s.rowsCopied} retries=${s.retries}${s.error ? `\n      error: ${s.error}` : ''}`);
  }
}

/** The value of one of a deployed stack's outputs (e.g. `StateTableName`). */
async function outputOfStack(stackName: string, key: StackOutputKey = StackOutputs.stateTable): Promise<string> {
  const client = cloudFormationClient();
  try {
    return await stackOutput(client, stackName, key);
  } finally {
    client.destroy();
  }
}

/** `reshard ddl … --stack`: the deployed migration's state table and change queue, the databases reached from here. */
async function resolveDeployedDdl(config: MigrationConfig, stackName: string, opts: { server: number; action: DdlAction; force?: boolean }) {
  const queueUrl = await outputOfStack(stackName, StackOutputs.changeQueue);
  const sqs = sqsClient();
  try {
    return await withDeployedContext(config, stackName, (ctx) => resolveDdl(ctx, new ChangeQueue(sqs, queueUrl), { ...opts, owner: `${ctx.workerId}:ddl` }));
  } finally {
    sqs.destroy();
  }
}

/** Runs `fn` with a context on a deployed stack's state table and the databases reached from here. */
async function withDeployedContext<T>(config: MigrationConfig, stackName: string, fn: (ctx: Awaited<ReturnType<typeof buildContext>>) => Promise<T>): Promise<T> {
  const doc = dynamoClient();
  const ctx = await buildContext({ config, store: new StateStore(doc, await outputOfStack(stackName)), workerId: `cli@${hostname()}:${process.pid}` });
  try {
    return await fn(ctx);
  } finally {
    await closeContext(ctx);
    doc.destroy();
  }
}

/** `reshard cutover --go --stack`: SendTaskSuccess with the token the waiting execution recorded. */
async function goDeployed(config: MigrationConfig, stackName: string): Promise<string> {
  const doc = dynamoClient();
  const state = await waitingCutover({ config, store: new StateStore(doc, await outputOfStack(stackName)) }).finally(() => doc.destroy());
  if (!state?.taskToken) throw new Error(`no cut-over of ${config.migrationId} waits for the operator in ${stackName} (see reshard status --stack ${stackName})`);
  const sfn = new SFNClient({});
  try {
    await sfn.send(new SendTaskSuccessCommand({ taskToken: state.taskToken, output: JSON.stringify({ go: true, by: `cli@${hostname()}` }) }));
  } finally {
    sfn.destroy();
  }
  return `sent the go to ${state.execution ?? 'the Cutover execution'} (it was ${state.status})`;
}

function printThawed(out: { thawed: readonly string[] }): void {
  console.log(out.thawed.length ? `thawed:\n  ${out.thawed.join('\n  ')}` : 'nothing was frozen');
}

/** Status from a deployed stack's state table (no database or emulator is touched). */
async function deployedStatus(config: MigrationConfig, tableName: string): Promise<MigrationView> {
  const doc = dynamoClient();
  try {
    return await migrationStatus(config, new StateStore(doc, tableName));
  } finally {
    doc.destroy();
  }
}

async function withRuntime<T>(config: MigrationConfig, dir: string | undefined, fn: (rt: LocalRuntime) => Promise<T>): Promise<T> {
  const rt = await LocalRuntime.start({ config, stateDir: stateDir(config, dir) });
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

async function execute(config: MigrationConfig, dir: string | undefined, follow = false, input: Record<string, unknown> = {}): Promise<void> {
  await withRuntime(config, dir, async (rt) => {
    await rt.reclaimLeases((line) => console.log(line));
    // CDC starts first: it waits for plan to record the binlog position, then captures from there.
    rt.cdc?.start();
    const progress = startProgress(config, rt.store, rt.cdc ? { lag: () => rt.cdc!.lag() } : {});
    let failure: unknown;
    try {
      await rt.execute(input).result;
      if (rt.cdc) {
        console.log('copy finished; applying changes until CDC lag reaches 0…');
        await rt.cdc.drain(10 * 60_000);
        if (follow) {
          console.log('following the binlog (Ctrl-C to stop)…');
          await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
        }
      }
    } catch (err) {
      failure = err;
    } finally {
      await progress.stop();
    }
    printStatus(await migrationStatus(config, rt.store), rt.cdc ? await rt.cdc.lag() : undefined);
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows the run's failure, as it was
    if (failure) throw failure;
  });
}

program
  .command('schema')
  .description('print the JSON Schema of the config file')
  .action(() => {
    console.log(JSON.stringify(configJsonSchema(), null, 2));
  });

program
  .command('plan')
  .description('check the source (indexes, columns), count rows per day, cut segments and preview rows per target table; writes nothing')
  .addOption(configOption)
  .option('--json', 'print the plan as JSON')
  .action(async (opts: { config: string; json?: boolean }) => {
    const config = await loadConfigFile(opts.config);
    const store = new StateStore(dynamoClient({ region: 'us-east-1' }), 'unused');
    const ctx = await buildContext({ config, store, workerId: 'plan' });
    try {
      const result = await plan(ctx, { dryRun: true });
      if (opts.json) return void console.log(JSON.stringify(result.tables, null, 2));
      for (const w of result.warnings) console.log(`warning: ${w}`);
      for (const t of result.tables) {
        console.log(`${t.table}: ${t.rows.toLocaleString('en-US')} rows over ${t.days} day(s), keys ${t.minKey ?? '-'}..${t.maxKey ?? '-'}, ${t.segments.length} segment(s)`);
        const sorted = [...t.skew].sort((a, b) => b.rows - a.rows);
        console.log(`  rows per target (estimated): max ${sorted[0]?.rows ?? 0} (${sorted[0]?.target}), min ${sorted.at(-1)?.rows ?? 0}; skew ×${t.skewFactor.toFixed(2)}; ${t.unusedTargets} of ${t.skew.length} target tables unused`);
        for (const u of t.unroutableSample) console.log(`  warning: ${u}`);
        if (t.unusedTargets > 0) console.log(`  warning: ${t.unusedTargets} target tables would stay empty with routing "${config.routing.algorithm}"`);
      }
    } finally {
      await closeContext(ctx);
    }
  });

program
  .command('run')
  .description('run the full copy (plan, copy every segment, finalize) through the synthesized state machine')
  .addOption(configOption)
  .addOption(stateOption)
  .option('--follow', 'with CDC: keep capturing and applying after the copy until Ctrl-C')
  .action(async (opts: { config: string; stateDir?: string; follow?: boolean }) => {
    const config = await loadConfigFile(opts.config);
    await execute(config, opts.stateDir, opts.follow ?? false);
  });

program
  .command('retry')
  .description('rerun FAILED and unfinished segments from their checkpoints (the local twin of a console redrive)')
  .addOption(configOption)
  .addOption(stateOption)
  .option('--only <table#segment...>', 'rerun just these segments (copy from the checkpoint, then verify), e.g. order_info#3')
  .action(async (opts: { config: string; stateDir?: string; only?: string[] }) => {
    const config = await loadConfigFile(opts.config);
    const dir = stateDir(config, opts.stateDir);
    if (!existsSync(dir)) throw new Error(`no state for migration ${config.migrationId} in ${dir}: use \`reshard run\` first`);
    const only = opts.only?.map((text) => {
      const m = /^(.+)#(\d+)$/.exec(text);
      if (!m) throw new Error(`--only ${text}: write table#segment, e.g. order_info#3`);
      return { table: m[1]!, segment: Number(m[2]) };
    });
    await withRuntime(config, opts.stateDir, async (rt) => {
      await rt.reclaimLeases((line) => console.log(line));
      const before = await migrationStatus(config, rt.store);
      const pending = only
        ? only.map((o) => `${o.table}#${o.segment}`)
        : before.tables.flatMap((t) => t.segments.filter((s) => s.status !== 'DONE').map((s) => `${t.table}#${s.segment} (${s.status})`));
      console.log(pending.length ? `rerunning ${pending.length} segment(s): ${pending.join(', ')}` : 'every segment is DONE; finalizing');
    });
    await execute(config, opts.stateDir, false, only ? { only } : {});
  });

program
  .command('verify')
  .description('compare source and targets per key-range batch (checksums, then row by row where they differ); --repair rewrites what differs')
  .addOption(configOption)
  .addOption(stateOption)
  .option('--repair', 'rewrite missing and different rows from the source, delete extra ones, then compare again')
  .option('--batch-rows <n>', 'rows per batch (default: verify.batchRows of the config)', (v) => Number.parseInt(v, 10))
  .option('--json', 'print the result as JSON')
  .option('--report <file>', 'also write a self-contained HTML report (summary, rows per day and per target table, differences)')
  .action(async (opts: { config: string; stateDir?: string; repair?: boolean; batchRows?: number; json?: boolean; report?: string }) => {
    const config = await loadConfigFile(opts.config);
    const results = await withRuntime(config, opts.stateDir, async (rt) => {
      // With CDC, changes keep flowing while we compare: differences are rechecked once CDC has caught up.
      rt.cdc?.start();
      const settle = rt.cdc ? () => rt.cdc!.catchUp(5 * 60_000) : undefined;
      const out = [];
      for (const t of config.tables) out.push(await verifyTable(rt.ctx, t.name, { repair: opts.repair ?? false, ...(opts.batchRows ? { batchRows: opts.batchRows } : {}), ...(settle ? { settle } : {}) }));
      if (opts.report) await writeFile(opts.report, renderReport(await gatherReport(rt.ctx, out)));
      return out;
    });
    if (opts.json) console.log(JSON.stringify(results, null, 2));
    else
      for (const r of results) {
        console.log(
          `${r.table}: ${r.clean ? 'CLEAN' : 'DIRTY'}  compared ${r.rowsCompared.toLocaleString('en-US')} rows in ${r.batches} batches (${r.byChecksum.toLocaleString('en-US')} by checksum, ${r.byRows.toLocaleString('en-US')} row by row)  missing ${r.missing}, different ${r.different}, extra ${r.extra}${opts.repair ? `, repaired ${r.repaired}` : ''}`,
        );
        for (const d of r.dirty.slice(0, 20)) console.log(`  ${d.kind} ${JSON.stringify(d.key)} in ${d.target}${d.columns ? ` (${d.columns.join(', ')})` : ''}`);
        if (r.dirty.length > 20) console.log(`  … ${r.dirty.length - 20} more (see --json${opts.report ? ' or the report' : ''})`);
      }
    // stdout stays pure JSON with --json.
    if (opts.report) (opts.json ? console.error : console.log)(`report written to ${opts.report}`);
    if (results.some((r) => !r.clean)) process.exitCode = 1;
  });

interface CutoverCliOptions {
  config: string;
  stateDir?: string;
  dryRun?: boolean;
  abort?: boolean;
  go?: boolean;
  writesStopped?: boolean;
  stack?: string;
  routingFile: string;
  follow?: boolean;
}

/**
 * How long `reshard cutover` and `reshard rollback` let CDC catch up before the precheck, and how long CDC may
 * stand still while failing before that wait ends early (as it does once the DLQ holds a message).
 */
const CATCH_UP_BEFORE_PRECHECK_MS = 10 * 60_000;
const GIVE_UP_STALLED_MS = 60_000;

/** `reshard cutover` and `reshard rollback` (the cut-over of the reverse migration, `<migrationId>.reverse`). */
async function cutoverCommand(opts: CutoverCliOptions, rollback: boolean): Promise<void> {
  const config = await loadConfigFile(opts.config);
  const verb = rollback ? 'rollback' : 'cutover';
  // The migration whose CUTOVER item this verb drives: the reverse one for a rollback.
  const driven = rollback ? reverseConfig(config) : config;
  if (opts.go) return void console.log(opts.stack ? await goDeployed(driven, opts.stack) : goLocal(stateDir(config, opts.stateDir)));
  if (opts.stack && !opts.abort) program.error(`error: --stack goes with --go or --abort; start a deployed ${verb} from the Step Functions console (the CutoverStateMachineArn output${rollback ? `, input {"migrationId": "${driven.migrationId}"}` : ''})`);
  if (opts.abort && opts.stack) return void printThawed(await withDeployedContext(driven, opts.stack, (ctx) => abortCutover(ctx)));
  await withRuntime(config, opts.stateDir, async (rt) => {
    const input = { migrationId: driven.migrationId };
    if (opts.abort) return void printThawed((await rt.executeCutover({ ...input, abort: true }).result as { unfrozen: { thawed: string[] } }).unfrozen);
    await rt.reclaimLeases((line) => console.log(line));
    // Capture and apply run meanwhile: the catch-up waits for them, and a postponed cut-over follows the binlog.
    rt.cdc?.start();
    try {
      const switched = await rt.store.getCutover(config.migrationId);
      if (rt.cdc && (!rollback || (switched?.status === 'DONE' && switched.reverseFrom))) {
        // Locally CDC runs only while a reshard process does: let it catch up on what happened meanwhile, so
        // the precheck judges the lag of a running capture (it still refuses if this does not get there).
        console.log(`CDC catching up${rollback ? ' (reverse replication)' : ''} before the precheck…`);
        await rt.cdc.drain(CATCH_UP_BEFORE_PRECHECK_MS, rollback, { stalledMs: GIVE_UP_STALLED_MS }).catch((err: unknown) => console.log(`  not caught up: ${describeError(err)}`));
      }
      if (opts.dryRun) {
        // The precheck the Cutover machine runs, with the same deps.
        const out = await cutOver(rt.direction(rollback), rt.cutoverDeps(rollback), { dryRun: true });
        for (const s of out.steps) console.log(`would ${s}`);
        return;
      }
      const flag = waitFlag(stateDir(config, opts.stateDir));
      const operator = async (wait: OperatorWait) => {
        if (wait === 'writes-stopped' && opts.writesStopped) return;
        await operatorWait(flag, wait, opts.config, console.log, 200, verb);
      };
      const steps = followCutover(rt.store, driven.migrationId, console.log, 250, verb);
      const out = (await rt.executeCutover(input, operator).result.then(
        async (o) => (await steps.stop(), o),
        async (err: unknown) => {
          await steps.stop();
          throw cutoverError(err);
        },
      )) as { precheck: { steps: string[] }; switch: { freezeMs: number; rowsChecked: number; routing: unknown } };
      for (const s of out.precheck.steps) console.log(s);
      await writeFile(opts.routingFile, JSON.stringify(out.switch.routing, null, 2) + '\n');
      const layout = rollback ? 'old' : 'new';
      console.log(`${rollback ? 'rolled back' : 'switched'}: writes were frozen ${out.switch.freezeMs} ms, ${out.switch.rowsChecked} rows checked; the routing of the ${layout} layout is in ${opts.routingFile}`);
      if (rollback) console.log('the old layout takes the writes again: changes on the new layout are no longer carried back, and capture carries the old layout\'s changes forward again');
      else if (config.cutover.reverse)
        console.log(`reverse replication carries every change on the new layout back to the old one (while reshard runs CDC: ${opts.follow ? 'now, until Ctrl-C' : 'reshard cutover --follow or reshard run --follow'}); writes to the old layout from now on are not carried anywhere`);
      else console.log('writes to the old layout from now on are not migrated: point the application at the new layout before it writes again');
      if (opts.follow && rt.cdc) {
        console.log('following the binlog (Ctrl-C to stop)…');
        await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      }
    } finally {
      await rt.cdc?.stop();
    }
  });
}

const cutoverOptions = (cmd: Command, rollback: boolean) =>
  cmd
    .addOption(configOption)
    .addOption(stateOption)
    .option('--dry-run', `run the precheck and print what the ${rollback ? 'rollback' : 'cut-over'} would do; freeze nothing`)
    .option('--abort', `thaw ${rollback ? 'the new layout' : 'a source'} whose ${rollback ? 'rollback' : 'cut-over'} died while frozen (ends its lock sessions or turns read-only off)`)
    .option('--go', `let a ${rollback ? 'rollback' : 'cut-over'} waiting ready to switch (cutover.postpone) or for the writes-stopped confirmation go on`)
    .option('--writes-stopped', `with cutover.freeze external: the application has stopped writing to the ${rollback ? 'new layout' : 'source tables'}`)
    .option('--stack <name>', "a deployed migration (--go, --abort): its state table from the stack's outputs (AWS credentials); --abort reaches the databases from here")
    .option('--routing-file <file>', `where to write the routing of the ${rollback ? 'old' : 'new'} layout`, 'reshard-routing.json')
    .option('--follow', 'with CDC: keep capturing and applying after the switch (reverse replication with cutover.reverse) until Ctrl-C');

cutoverOptions(
  program
    .command('cutover')
    .description('finish the migration through the Cutover state machine: precheck, [wait for the go], freeze writes to the source tables, catch up, check, record the switch and the new routing, [start reverse replication], thaw'),
  false,
).action((opts: CutoverCliOptions) => cutoverCommand(opts, false));

cutoverOptions(
  program
    .command('rollback')
    .description('go back to the old layout after a cut-over with cutover.reverse: the same precheck, freeze (of the new layout), catch-up of reverse replication and check, pointed back'),
  true,
).action((opts: CutoverCliOptions) => cutoverCommand(opts, true));

program
  .command('ddl')
  .description('deal with the DDL capture of a source server stopped before (see `reshard status`), then let capture go on')
  .addArgument(new Argument('<action>', 'apply: run it on every target table once the changes before it are applied; skip: leave the targets as they are').choices(['apply', 'skip']))
  .addOption(configOption)
  .addOption(stateOption)
  .option('--server <n>', 'the source server (index in source.connections; default 0)', (v) => Number.parseInt(v, 10), 0)
  .option('--reverse', 'the DDL reverse replication stopped before on a target server (--server: its index among the target servers)')
  .option('--force', 'skip a DDL that changes columns or rows (after changing the targets yourself)')
  .option('--stack <name>', "a deployed migration: its state table and change queue from the stack's outputs (AWS credentials); the databases are reached from here with the config's connections")
  .action(async (action: DdlAction, opts: { config: string; stateDir?: string; server: number; reverse?: boolean; force?: boolean; stack?: string }) => {
    const config = await loadConfigFile(opts.config);
    if (!config.cdc.enabled) program.error('error: cdc.enabled is false in this config: capture never stops before a DDL');
    if (opts.reverse && !config.cutover.reverse) program.error('error: cutover.reverse is false in this config: there is no reverse replication');
    const resolve = { server: opts.server, action, force: opts.force ?? false };
    const out = opts.stack ? await resolveDeployedDdl(opts.reverse ? reverseConfig(config) : config, opts.stack, resolve) : await withRuntime(config, opts.stateDir, async (rt) => {
      // Apply runs meanwhile: the changes before the DDL reach the targets before it does.
      rt.cdc!.start();
      try {
        const ctx = opts.reverse ? rt.reverse! : rt.ctx;
        return await resolveDdl(ctx, rt.cdc!.queue, { ...resolve, owner: `${ctx.workerId}:ddl` });
      } finally {
        await rt.cdc!.stop();
      }
    });
    console.log(
      `${action === 'apply' ? `ran on ${out.targets} target table(s)${out.already ? ` (${out.already} had it already)` : ''}` : 'skipped'}: ${out.statement}` +
        `${out.replanned.length ? `\nplans now have the source's new columns: ${out.replanned.join(', ')}` : ''}\ncapture of source server #${out.server} goes on at ${out.resumedAt.file}:${out.resumedAt.position}`,
    );
  });

program
  .command('capture-source')
  .description("after a source server's endpoint reached another server (a failover): say where capture goes on in that server's binlog")
  .addArgument(new Argument('<action>', 'accept: capture reads the server the endpoint reaches now, from the position given').choices(['accept']))
  .addOption(configOption)
  .addOption(stateOption)
  .option('--server <n>', 'the source server (index in source.connections; default 0)', (v) => Number.parseInt(v, 10), 0)
  .option('--reverse', "reverse replication's capture of a target server (--server: its index among the target servers)")
  .addOption(new Option('--gtid [position]', "MariaDB: go on where the changes after this GTID position (default: the one stored with capture's position) begin in the new server's binlog").conflicts(['at', 'keep', 'now']))
  .addOption(new Option('--at <file:pos>', "go on at this position of the new server's binlog (where the changes after the held position continue)").conflicts(['keep', 'now']))
  .addOption(new Option('--keep', "go on at the held position: the new server's binlog holds the old server's files (the same storage)").conflicts(['now']))
  .option('--now', "go on at the new server's current position; the changes in between are not captured (run `reshard verify --repair` once capture caught up)")
  .option('--stack <name>', "a deployed migration: its state table from the stack's outputs (AWS credentials); the databases are reached from here with the config's connections")
  .action(async (_action: 'accept', opts: { config: string; stateDir?: string; server: number; reverse?: boolean; gtid?: string | true; at?: string; keep?: boolean; now?: boolean; stack?: string }) => {
    const config = await loadConfigFile(opts.config);
    if (!config.cdc.enabled) program.error('error: cdc.enabled is false in this config: there is no capture');
    if (opts.reverse && !config.cutover.reverse) program.error('error: cutover.reverse is false in this config: there is no reverse replication');
    let at: AcceptAt;
    if (opts.gtid !== undefined) at = { gtid: opts.gtid };
    else if (opts.keep) at = { keep: true };
    else if (opts.now) at = { now: true };
    else if (opts.at !== undefined) {
      const position = parsePositionArg(opts.at);
      if (!position) return program.error(`error: --at ${opts.at} is not FILE:POS (a binlog file name and a byte offset of at least 4)`);
      at = { position };
    } else return program.error('error: say where capture goes on: --gtid [POSITION], --at FILE:POS, --keep or --now');
    const accept = (ctx: AppContext) => acceptSource(ctx, { server: opts.server, at, owner: `${ctx.workerId}:capture-source` });
    const out = opts.stack
      ? await withDeployedContext(opts.reverse ? reverseConfig(config) : config, opts.stack, accept)
      : await withRuntime(config, opts.stateDir, (rt) => accept(opts.reverse ? rt.reverse! : rt.ctx));
    console.log(`capture of ${opts.reverse ? 'target' : 'source'} server #${out.server} now reads ${out.now}${out.was ? ` (was ${out.was})` : ''} and goes on at ${out.position.file}:${out.position.position}${out.gtid ? ` (GTID ${out.gtid})` : ''}`);
    if (out.missed) console.log('the changes made between the old position and this one are not captured: once capture has caught up, run `reshard verify --repair`');
  });

program
  .command('status')
  .description('show per table: status, rows copied / statistics total, ETA, verification, and the segments not DONE with cursor, error and retries; with CDC, its capture, backlog and lag')
  .addOption(configOption)
  .addOption(stateOption)
  .option('--json', 'print as JSON')
  .option('--state-table <name>', "read a deployed migration's DynamoDB state table (credentials and region from the AWS environment) instead of the local state")
  .addOption(new Option('--stack <name>', `the same, with the table named by the stack's ${StackOutputs.stateTable} output (e.g. Reshard-prod)`).conflicts('stateTable'))
  .action(async (opts: { config: string; stateDir?: string; json?: boolean; stateTable?: string; stack?: string }) => {
    const config = await loadConfigFile(opts.config);
    const table = opts.stack ? await outputOfStack(opts.stack) : opts.stateTable;
    const [view, lag] = table
      ? [await deployedStatus(config, table), undefined]
      : await withRuntime(config, opts.stateDir, async (rt) => [await migrationStatus(config, rt.store), rt.cdc ? await rt.cdc.lag() : undefined] as const);
    if (opts.json) console.log(JSON.stringify(lag ? { ...view, cdc: lag } : view, null, 2));
    else printStatus(view, lag);
    if (view.status === 'FAILED') process.exitCode = 1;
  });

program
  .command('demo')
  .description('start a private MariaDB, generate orders + items, copy them into 8 dbs × 8 tables while a writer changes them (CDC), compare checksums and verify')
  .option('--orders <n>', 'orders to generate', (v) => Number.parseInt(v, 10), 200_000)
  .option('--port <port>', 'port of the private MariaDB', (v) => Number.parseInt(v, 10), 3407)
  .option('--dir <dir>', 'where the demo keeps its MariaDB and state', '.reshard/demo')
  .option('--keep', 'leave the MariaDB running, write the config next to the state and print the commands to try next')
  .option('--from-sharded', 'reshard an 8 × 8 layout (last3-mod) on one private MariaDB into 16 × 16 (spread) on a second one (port + 1), with CDC')
  .action(async (opts: { orders: number; port: number; dir: string; keep?: boolean; fromSharded?: boolean }) => {
    if (opts.fromSharded && opts.keep) program.error('error: --keep is not available with --from-sharded');
    const ok = opts.fromSharded
      ? await runShardedDemo({ orders: opts.orders, port: opts.port, dir: opts.dir })
      : await runDemo({ orders: opts.orders, port: opts.port, dir: opts.dir, keep: opts.keep ?? false });
    if (!ok) process.exitCode = 1;
  });

/**
 * The verb (or `help <verb>`) must be one of ours: an unknown one is an error naming it and listing the
 * verbs, even with --help (commander would print the main help and exit 0).
 */
function checkVerb(args: readonly string[]): void {
  const operands = args.filter((a) => !a.startsWith('-'));
  const verb = operands[0] === 'help' ? operands[1] : operands[0];
  const verbs = program.commands.map((c) => c.name());
  if (verb !== undefined && !verbs.includes(verb)) program.error(`error: unknown command '${verb}' (commands: ${verbs.join(', ')})`);
}

checkVerb(process.argv.slice(2));
program.parseAsync(process.argv).then(
  () => {
    // Pools and timers are closed; exit explicitly in case a library keeps a handle open.
    setImmediate(() => process.exit(process.exitCode ?? 0));
  },
  (err: unknown) => {
    const e = err as Error;
    console.error(`reshard: ${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message}`);
    if (process.env.RESHARD_DEBUG) console.error(e.stack);
    process.exit(1);
  },
);
