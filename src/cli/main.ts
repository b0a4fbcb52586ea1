import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import type { Engine, RunView, RunnablePlan } from '../engine/api';
import { createEngine } from '../engine/engine';
import { EngineError } from '../engine/errors';
import type { UserPrompt } from '../engine/ports';
import { cliConfig } from './config';
import { EXIT, exitCodeFor, sentenceFor, stderrLogger } from './output';
import { loadTaskRequest } from './request';
import { printHistory, printPlan, printQueue, printRun, printStatus, runResultJson } from './print';

const USAGE = `Usage: hyperion <command> [options]

Commands:
  plan "<goal>"            Plan a goal into a validated graph of subtasks.
  run "<goal>"             Plan, run the developer agents, store their change requests.
  request <file>           Run a TaskRequest JSON file (tasks may carry ready-made patches).
  status                   Show the latest run, its tasks and the queue.
  history                  Show the last 100 task requests and their status.
  queue [list]             Show the merge queue.
  queue approve|reject|retry|revert <id>
                           Act on a change request (approve, reject, revert) or queue entry (retry).

Options:
  --repo DIR               Repository (default: current directory).
  --json                   Print one JSON object on stdout and nothing else there.
  --approve none|all       Approve change requests automatically (default none).
  --provider P             openai | anthropic | openai-compatible | recorded.
  --model ID               Model for every role (overrides routing).
  --base-url URL           Provider base URL (Ollama, LM Studio, vLLM, proxies).
  --recordings FILE        Recorded responses for --provider recorded.
  --check "<command>"      Check command run on each candidate before it lands.
  --config FILE            Config file (default <repo>/.hyperion.json).
  --verbose                Log progress on stderr.

Keys come from OPENAI_API_KEY and ANTHROPIC_API_KEY. Exit codes: 0 ok, 1 a task or landing
failed, 2 bad usage or input, 3 provider or network error.`;

const OPTIONS = {
  repo: { type: 'string' },
  json: { type: 'boolean', default: false },
  approve: { type: 'string' },
  provider: { type: 'string' },
  model: { type: 'string' },
  'base-url': { type: 'string' },
  recordings: { type: 'string' },
  check: { type: 'string' },
  config: { type: 'string' },
  verbose: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Flags = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function terminalPrompt(): UserPrompt | undefined {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  return {
    async askQuestion(question, opts) {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        const hint = opts?.choices?.length ? ` [${opts.choices.join(' / ')}]` : '';
        const answer = (await rl.question(`? ${question}${hint}\n> `, { signal: opts?.signal })).trim();
        return answer.length > 0 ? answer : undefined;
      } finally {
        rl.close();
      }
    },
  };
}

async function openEngine(flags: Flags, needsModels: boolean): Promise<Engine> {
  const repo = path.resolve(flags.repo ?? process.cwd());
  const log = stderrLogger(flags.verbose ? 'debug' : 'error');
  const config = needsModels
    ? cliConfig(repo, { provider: flags.provider, model: flags.model, baseUrl: flags['base-url'], recordings: flags.recordings, check: flags.check, configFile: flags.config }, process.env)
    : cliConfig(repo, { provider: flags.provider ?? 'recorded', check: flags.check, configFile: flags.config }, process.env);
  return createEngine({
    repo,
    config,
    ports: {
      log,
      ask: flags.json ? undefined : terminalPrompt(),
      secrets: {
        async get(name) {
          if (name === 'openai') return process.env.OPENAI_API_KEY;
          if (name === 'anthropic') return process.env.ANTHROPIC_API_KEY;
          return process.env.OPENAI_COMPATIBLE_API_KEY;
        },
      },
    },
  });
}

function approveFlag(v: string | undefined): 'none' | 'all' | undefined {
  if (v === undefined) return undefined;
  if (v !== 'none' && v !== 'all') throw new EngineError('usage/approve', `--approve must be "none" or "all", not "${v}"`);
  return v;
}

/** Runs a plan to the end: agents, then (with approvals) the merge queue. */
async function executePlan(engine: Engine, plan: RunnablePlan, approve: 'none' | 'all', signal: AbortSignal): Promise<RunView> {
  const { runId, done } = await engine.startRun(plan, { approve, signal });
  await done;
  if (approve === 'all') await engine.runQueue(signal);
  return engine.getRun(runId)!;
}

function runFailed(run: RunView): boolean {
  return run.tasks.some((t) => t.status === 'failed' || t.status === 'rejected' || t.status === 'skipped');
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
  const [command, ...rest] = parsed.positionals;
  if (flags.help || command === undefined || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined && !flags.help ? EXIT.usage : EXIT.ok;
  }
  const controller = new AbortController();
  const onSigint = () => controller.abort(new EngineError('cancelled', 'interrupted'));
  process.once('SIGINT', onSigint);
  const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o, null, flags.json ? 2 : 0)}\n`);
  let engine: Engine | undefined;
  try {
    switch (command) {
      case 'plan': {
        const goal = requireArg(rest, 'plan "<goal>"');
        engine = await openEngine(flags, true);
        const plan = await engine.plan(goal, { signal: controller.signal });
        if (flags.json) out(plan);
        else printPlan(plan);
        return EXIT.ok;
      }
      case 'run': {
        const goal = requireArg(rest, 'run "<goal>"');
        const approve = approveFlag(flags.approve) ?? 'none';
        engine = await openEngine(flags, true);
        const plan = await engine.plan(goal, { signal: controller.signal });
        const run = await executePlan(engine, plan, approve, controller.signal);
        if (flags.json) out(runResultJson(run));
        else printRun(run, engine.listQueue());
        return runFailed(run) ? EXIT.failure : EXIT.ok;
      }
      case 'request': {
        const file = requireArg(rest, 'request <file>');
        engine = await openEngine(flags, false);
        const req = loadTaskRequest(path.resolve(file), engine.config.planner.maxTasks);
        const approve = approveFlag(flags.approve) ?? req.approve;
        const run = await executePlan(engine, req.plan, approve, controller.signal);
        if (flags.json) out(runResultJson(run));
        else printRun(run, engine.listQueue());
        return runFailed(run) ? EXIT.failure : EXIT.ok;
      }
      case 'status': {
        engine = await openEngine(flags, false);
        const run = engine.listRuns(1)[0];
        if (flags.json) out({ run: run ? runResultJson(run) : null, queue: engine.queueSummary() });
        else printStatus(run, engine.queueSummary());
        return EXIT.ok;
      }
      case 'history': {
        engine = await openEngine(flags, false);
        const tasks = engine.history(100);
        if (flags.json) out({ tasks: tasks.map((t) => ({ runId: t.runId, id: t.id, title: t.title, status: t.status, error: t.error ?? null, commit: t.commit ?? null })) });
        else printHistory(tasks);
        return EXIT.ok;
      }
      case 'queue':
        engine = await openEngine(flags, rest[0] === 'approve');
        return await queueCommand(engine, rest, flags.json === true, out, controller.signal);
      default:
        throw new EngineError('usage/command', `unknown command "${command}"; run "hyperion --help"`);
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

async function queueCommand(engine: Engine, rest: string[], json: boolean, out: (o: unknown) => void, signal: AbortSignal): Promise<number> {
  const [sub = 'list', id] = rest;
  if (sub === 'list') {
    const entries = engine.listQueue();
    if (json) out({ entries, summary: engine.queueSummary(), metrics: engine.queueMetrics() });
    else printQueue(entries);
    return EXIT.ok;
  }
  if (!id) throw new EngineError('usage/queue', `queue ${sub} needs an id`);
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

function requireArg(rest: string[], usage: string): string {
  const v = rest[0];
  if (!v || v.trim() === '') throw new EngineError('usage/missing-argument', `missing argument: hyperion ${usage}`);
  return v;
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
