import path from 'node:path';
import { parseArgs } from 'node:util';
import { isStoppedEntry, type Engine, type QueueEntryView, type RunView, type RunnablePlan } from '../engine/api';
import { EngineError } from '../engine/errors';
import { DEFAULT_REQUEST_LIMIT } from '../engine/runs/requests';
import { OPTIONS, limitFlag, resolveCommand } from './flags';
import { openCliEngine } from './openEngine';
import { EXIT, exitCodeFor, sentenceFor } from './output';
import { loadTaskRequest } from './request';
import { renderRunSummary } from '../engine/runs/summaryMarkdown';
import { historyJson, printHistory, printPlan, printProgress, printQueue, printRun, printStatus, runResultJson } from './print';
import { reviewCommand } from './review';
import { printWorkers, workerCommand, workersCommand } from './worker';
import { checkRedis } from '../engine/distributed/redis';

const USAGE = `Usage: hyperion <command> [options]

Commands:
  plan "<goal>"            Plan a goal into a validated graph of subtasks.
  run "<goal>"             Plan, run the developer agents, store their change requests.
  request <file>           Run a TaskRequest JSON file (tasks may carry ready-made patches).
  status                   Show the latest run, its tasks and change ids, and the queue.
  history                  Show the last 100 requests (--limit N): goal, when, status, tasks.
  queue [list]             Show the merge queue.
  queue approve|reject|revert <change-id>
  queue retry <entry-id>   Act on a change request, or put a stopped queue entry back.
  runs delete <run-id>     Delete a settled run and everything stored about it.
  summary <run-id>         A run's summary in Markdown: per task files, lines, review, checks,
                           cost, time and commit; totals; what still waits (--json: as data).
  transcript <run-id> <task-id>
                           Print the stored transcript of a task's agent or tool developer (latest attempt).
  comment <change-id> --comment "<text>" [--file F [--line N]]
                           Write a review comment on a change (a line, a file, or the whole change).
  request-changes <change-id> [--comment "<text>" [--file F [--line N]]]
                           Send the change's comments to its agent; it makes the next version.
  worker --redis URL       Run agent tasks from Redis in worktrees of this clone
                           ([--concurrency N] [--agents a,b] [--name N] [--remote origin] [--checks]).
  workers --redis URL      List the connected workers: name, host, current task, heartbeat.

Options (a command refuses an option it does not use; see README for the table):
  --repo DIR               Repository (default: current directory).
  --json                   Print one JSON object on stdout and nothing else there.
  --approve none|all       Approve change requests automatically (run, request; default none).
  --provider P             openai | anthropic | openai-compatible | recorded.
  --model ID               Model for every role (overrides routing).
  --agent NAME             Run every task without a patch with this configured agent
                           (plan, run, request; also HYPERION_AGENT; the flag wins).
  --base-url URL           Provider base URL (Ollama, LM Studio, vLLM, proxies).
  --recordings FILE        Recorded responses (implies --provider recorded).
  --check "<command>"      Check command run on each candidate before it lands.
  --config FILE            Config file (default <repo>/.hyperion.json).
  --trust-config           Confirm the repository's config file as it is now (needed once
                           when it sets checkCommand, a baseUrl, protectedPaths, …).
  --limit N                How many requests history lists (default 100).
  --verbose                Log progress on stderr.
  --redis URL              Run agent tasks on workers (run, request; redis://:PASSWORD@HOST:PORT,
                           rediss:// for TLS).

Keys come from OPENAI_API_KEY and ANTHROPIC_API_KEY. Exit codes: 0 ok, 1 a task or landing
failed, 2 bad usage or input, 3 provider or network error.`;

function approveFlag(v: string | undefined): 'none' | 'all' | undefined {
  if (v === undefined) return undefined;
  if (v !== 'none' && v !== 'all') throw new EngineError('usage/approve', `--approve must be "none" or "all", not "${v}"`);
  return v;
}

/** Runs a plan to the end: agents, then (with approvals) the merge queue. */
async function executePlan(engine: Engine, plan: RunnablePlan, approve: 'none' | 'all', signal: AbortSignal, json: boolean): Promise<RunView> {
  const progress = json ? undefined : printProgress(engine.onDidChange);
  const { runId, done } = await engine.startRun(plan, { approve, signal });
  await done.finally(() => progress?.dispose());
  if (approve === 'all') await engine.runQueue(signal);
  return engine.getRun(runId)!;
}

/**
 * Exit 1 when a task failed, or, when everything was to be approved, when a task's change did
 * not land (blocked, needs an explicit approval, still queued): its `error` says why.
 */
function runFailed(run: RunView, approve: 'none' | 'all', queue: QueueEntryView[]): boolean {
  const stopped = (taskId: string) => {
    const entry = queue.filter((e) => e.runId === run.id && e.taskId === taskId && e.kind === 'land').at(-1);
    // Queued, checking or landing (e.g. by another Hyperion process on this repository) still lands.
    return entry === undefined || isStoppedEntry(entry.state);
  };
  return run.tasks.some((t) =>
    t.status === 'failed' || t.status === 'rejected' || t.status === 'skipped'
    || (approve === 'all' && (t.status === 'proposed' || (t.status === 'approved' && stopped(t.id)))));
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  const flags = parsed.values;
  const positionals = parsed.positionals;
  if (flags.help || positionals.length === 0 || positionals[0] === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return positionals.length === 0 && !flags.help ? EXIT.usage : EXIT.ok;
  }
  const controller = new AbortController();
  const onSigint = () => controller.abort(new EngineError('cancelled', 'interrupted'));
  process.once('SIGINT', onSigint);
  const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o, null, flags.json ? 2 : 0)}\n`);
  let engine: Engine | undefined;
  try {
    const { name, args } = resolveCommand(positionals, flags);
    switch (name) {
      case 'plan': {
        engine = await openCliEngine(flags, { requireProvider: true });
        const plan = await engine.plan(args[0], { signal: controller.signal });
        if (flags.json) out(plan);
        else printPlan(plan);
        return EXIT.ok;
      }
      case 'run': {
        const approve = approveFlag(flags.approve) ?? 'none';
        engine = await openCliEngine(flags, { requireProvider: true });
        if (engine.config.distributed?.redisUrl) await checkRedis(engine.config.distributed.redisUrl);
        const plan = await engine.plan(args[0], { signal: controller.signal });
        const run = await executePlan(engine, plan, approve, controller.signal, flags.json === true);
        if (flags.json) out(runResultJson(run));
        else printRun(run, engine.listQueue(), (id) => engine?.getChange(id)?.verification);
        return runFailed(run, approve, engine.listQueue()) ? EXIT.failure : EXIT.ok;
      }
      case 'request': {
        const approveOverride = approveFlag(flags.approve);
        // Ready-made patches need no model: a missing key is reported only if a task calls one.
        engine = await openCliEngine(flags, { requireProvider: false });
        // Wrong Redis credentials are one clear error before anything is stored.
        if (engine.config.distributed?.redisUrl) await checkRedis(engine.config.distributed.redisUrl);
        const req = loadTaskRequest(path.resolve(args[0]), engine.config.planner.maxTasks);
        const approve = approveOverride ?? req.approve;
        const run = await executePlan(engine, req.plan, approve, controller.signal, flags.json === true);
        if (flags.json) out(runResultJson(run));
        else printRun(run, engine.listQueue(), (id) => engine?.getChange(id)?.verification);
        return runFailed(run, approve, engine.listQueue()) ? EXIT.failure : EXIT.ok;
      }
      case 'status': {
        engine = await openCliEngine(flags, { requireProvider: false, readOnly: true });
        const run = engine.listRuns(1)[0];
        if (flags.json) out({ run: run ? runResultJson(run) : null, queue: engine.queueSummary() });
        else printStatus(run, engine.queueSummary());
        return EXIT.ok;
      }
      case 'history': {
        const limit = limitFlag(flags.limit, DEFAULT_REQUEST_LIMIT);
        engine = await openCliEngine(flags, { requireProvider: false, readOnly: true });
        const e = engine;
        const requests = e.listRequests(limit).map((r) => ({ request: r, tasks: e.getRun(r.runId)?.tasks ?? [] }));
        if (flags.json) out(historyJson(requests));
        else printHistory(requests);
        return EXIT.ok;
      }
      case 'worker': {
        await workerCommand(flags, controller.signal);
        return EXIT.ok;
      }
      case 'workers': {
        const workers = await workersCommand(flags);
        if (flags.json) out({ workers });
        else printWorkers(workers, Date.now());
        return EXIT.ok;
      }
      case 'runs delete': {
        engine = await openCliEngine(flags, { requireProvider: false });
        await engine.deleteRun(args[0]);
        if (flags.json) out({ deleted: args[0] });
        else process.stdout.write(`Deleted run ${args[0]}.\n`);
        return EXIT.ok;
      }
      case 'summary': {
        engine = await openCliEngine(flags, { requireProvider: false, readOnly: true });
        const summary = await engine.runSummary(args[0]);
        if (flags.json) out(summary);
        else process.stdout.write(renderRunSummary(summary));
        return EXIT.ok;
      }
      case 'transcript': {
        engine = await openCliEngine(flags, { requireProvider: false, readOnly: true });
        const [runId, taskId] = args;
        const text = await engine.taskTranscript(runId, taskId);
        if (text === undefined) throw new EngineError('usage/no-transcript', `no agent transcript is stored for task "${taskId}" of run "${runId}" (it ran the whole-file developer, which keeps none, has not run yet, or the run was deleted)`);
        if (flags.json) out({ runId, taskId, transcript: text });
        else process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
        return EXIT.ok;
      }
      case 'comment':
      case 'request-changes': {
        engine = await openCliEngine(flags, { requireProvider: false });
        return await reviewCommand(engine, name, args[0], flags, out, controller.signal);
      }
      default:
        // Listing the queue only reads: it never recovers, approves or queues anything.
        engine = await openCliEngine(flags, { requireProvider: false, readOnly: name === 'queue list' || name === 'queue' });
        return await queueCommand(engine, name.slice('queue '.length), args[0], flags.json === true, out, controller.signal);
    }
  } catch (e) {
    process.stderr.write(`hyperion: ${sentenceFor(e)}\n`);
    if (flags.verbose && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    return exitCodeFor(e);
  } finally {
    process.off('SIGINT', onSigint);
    await engine?.dispose();
  }
}

/** `queue <sub> [id]`; the flag table has already checked the action and its argument. */
async function queueCommand(engine: Engine, sub: string, id: string | undefined, json: boolean, out: (o: unknown) => void, signal: AbortSignal): Promise<number> {
  if (sub === 'list' || id === undefined) {
    const entries = engine.listQueue();
    if (json) out({ entries, summary: engine.queueSummary(), metrics: engine.queueMetrics() });
    else printQueue(entries);
    return EXIT.ok;
  }
  switch (sub) {
    case 'approve':
      await engine.approveChange(id, { explicit: true });
      await engine.runQueue(signal);
      break;
    case 'reject':
      await engine.rejectChange(id, 'rejected from the CLI');
      break;
    case 'retry':
      await engine.retryEntry(id);
      await engine.runQueue(signal);
      break;
    case 'revert':
      await engine.revertChange(id);
      await engine.runQueue(signal);
      break;
    default:
      throw new EngineError('usage/queue', `unknown queue action "${sub}": use list, approve, reject, retry or revert`);
  }
  const entries = engine.listQueue().filter((e) => e.changeId === id || e.id === id);
  if (json) out({ entries });
  else printQueue(entries);
  return entries.some((e) => ['failed', 'quarantined', 'conflicted'].includes(e.state)) ? EXIT.failure : EXIT.ok;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`hyperion: ${sentenceFor(e)}\n`);
      process.exitCode = EXIT.failure;
    },
  );
}
