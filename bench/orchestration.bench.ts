// Orchestration benchmark: one large model doing a whole goal in one call, against Hyperion
// (planner + a DAG of tasks on faster models, run in parallel, each reviewed), through the real
// engine and the real OpenAI/Anthropic SDKs against loopback servers with realistic latency.
// Run: npm run bench:orchestration   (or: ./node_modules/.bin/node --import tsx bench/orchestration.bench.ts [--scale 20] [--only name,name])
// The last lines are the default (tools) developer's `engine time per task (median)`, `orchestrated/single: <ratio>` and
// `orchestrated/critical-path: <ratio>`; without --developer the whole-file protocol runs beside it and is compared.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Engine, RunView } from '../src/engine/api';
import { EngineConfig, type ModelRef } from '../src/engine/config';
import { createEngine } from '../src/engine/engine';
import type { Logger } from '../src/engine/ports';
import { testSecrets } from '../test/support/loopback/client';
import type { TaskSpan } from '../src/engine/schedule/spans';
import { breakdown, median, taskTimes, type RunBreakdown, type TaskTimes } from './support/breakdown';
import { levelsOf, loadGoals, simulatedTimes, singleTaskPlan, widestAntichain, type GoalFile } from './support/goals';
import { geomean, loadNow, machineLine, table } from './support/machine';
import { startModelServers, type CallRecord, type ModelServers } from './support/modelServer';
import { criticalPath } from '../src/engine/graph/dag';
import { RATES } from './support/rates';
import { makeSampleRepo } from './support/sampleRepo';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
/** Real time is divided by SCALE so the run fits in ~3 minutes; model-time ratios do not change. */
const SCALE = Number(arg('scale') ?? 20);
const ONLY = arg('only')?.split(',');
type Developer = 'tools' | 'whole-file';
/**
 * The built-in developer edits with tool calls (issue 11, the default); `--developer whole-file`
 * measures only today's whole-file protocol, `--developer tools` only the tool one. Without the
 * flag both run, goal by goal in turn, so they are compared under the same load.
 */
const DEVELOPERS: Developer[] = arg('developer') === 'whole-file' ? ['whole-file'] : arg('developer') === 'tools' ? ['tools'] : ['tools', 'whole-file'];
const CONCURRENCY = 8;

const ref = (tier: keyof typeof RATES): ModelRef => ({ provider: RATES[tier].provider, model: RATES[tier].model });

function config(servers: ModelServers, routes: Record<string, ModelRef[]>, developer: Developer): EngineConfig {
  return EngineConfig.parse({
    providers: { openai: { baseUrl: servers.openai.url }, anthropic: { baseUrl: servers.anthropic.url } },
    routes,
    concurrency: CONCURRENCY,
    agentMaxSteps: 4,
    developer,
    timeoutMs: 600_000,
    maxRetries: 0,
  });
}

/** (a) every task type on the large model (the one task is code_gen); review on the small one, as in (b). */
const singleRoutes = { default: [ref('large')], code_gen: [ref('large')], reviewer: [ref('small')] };
/** (b) planner on the large model, code_gen/test/docs/design on the mid one, audit and review on the small one. */
const hyperionRoutes = {
  default: [ref('mid')], planner: [ref('large')], design: [ref('mid')], code_gen: [ref('mid')], test: [ref('mid')], docs: [ref('mid')],
  optimize: [ref('mid')], deploy: [ref('mid')], audit: [ref('small')], reviewer: [ref('small')],
};

/** Counts what the engine logs at warn/error: a clean run has none. */
function countingLogger(): Logger & { problems: string[] } {
  const problems: string[] = [];
  const note = (level: string) => (msg: string, data?: Record<string, unknown>) => void problems.push(`${level}: ${msg} ${data ? JSON.stringify(data).slice(0, 300) : ''}`);
  return { problems, trace() {}, debug() {}, info() {}, warn: note('warn'), error: note('error') };
}

function checkRun(view: RunView, goal: GoalFile, mode: string, engine: Engine): void {
  const bad = view.tasks.filter((t) => t.status !== 'proposed');
  // approve: none leaves every change proposed, which the run shows as awaiting review.
  if ((view.status !== 'done' && view.status !== 'awaiting-review') || bad.length > 0) {
    throw new Error(`${goal.name} (${mode}): run ${view.status}${view.error ? `: ${view.error}` : ''}; tasks not proposed: ${bad.map((t) => `${t.id}=${t.status} ${t.error ?? ''}`).join(', ')}`);
  }
  const changes = engine.listChanges({ runId: view.id });
  const unreviewed = changes.filter((c) => c.reviewVerdict !== 'approve' || c.files.length === 0);
  if (changes.length !== view.tasks.length || unreviewed.length > 0) throw new Error(`${goal.name} (${mode}): ${unreviewed.length} change(s) without files or approval`);
}

/** Planner + the heaviest chain of (developer + review) as the model server slept them. */
function measuredCriticalPath(goal: GoalFile, calls: readonly CallRecord[]): { ms: number; path: string[] } {
  const ms = (role: string, id?: string) => calls.find((c) => c.role === role && (id === undefined || c.taskId === id))?.latencyMs ?? 0;
  const cp = criticalPath(goal.plan.tasks.map((t) => ({ id: t.id, dependsOn: t.dependsOn, weight: ms('developer', t.id) + ms('reviewer', t.id) })));
  return { ms: ms('planner') + cp.length, path: cp.path };
}

interface GoalResult {
  /** Developer output tokens of (b): the protocol used, and whole-file for the same files (tools only). */
  devTokens: number;
  wholeFileTokens: number;
  goal: GoalFile;
  tasks: number;
  width: number;
  levels: number;
  cpMs: number;
  singleModelMs: number;
  wallA: number;
  wallB: number;
  bd: RunBreakdown;
  /** Each task of (b) as the engine's own spans saw it. */
  times: TaskTimes[];
}

async function runSingle(engine: Engine, servers: ModelServers, goal: GoalFile): Promise<number> {
  const from = servers.calls.length;
  const t0 = performance.now();
  const { done } = await engine.startRun(singleTaskPlan(goal), { approve: 'none' });
  const view = await done;
  const wall = performance.now() - t0;
  checkRun(view, goal, 'single', engine);
  const calls = servers.calls.slice(from);
  if (calls.length !== 2 || calls[0]!.model !== RATES.large.model) throw new Error(`${goal.name} (single): expected 1 large-model call and 1 review, got ${calls.map((c) => `${c.role}@${c.model}`).join(', ')}`);
  return wall;
}

async function runHyperion(engine: Engine, dev: Developer, servers: ModelServers, goal: GoalFile, criticalPath: string[], spans: readonly TaskSpan[]): Promise<{ wall: number; bd: RunBreakdown; times: TaskTimes[]; calls: CallRecord[] }> {
  const from = servers.calls.length;
  const planStart = Date.now();
  const t0 = performance.now();
  const plan = await engine.plan(goal.plan.goal);
  const planEnd = Date.now();
  const { done } = await engine.startRun(plan, { approve: 'none' });
  const view = await done;
  const wall = performance.now() - t0;
  const doneAt = Date.now();
  checkRun(view, goal, 'hyperion', engine);
  const calls = servers.calls.slice(from);
  const n = goal.plan.tasks.length;
  const count = (role: string) => calls.filter((c) => c.role === role).length;
  if (count('planner') !== 1 || count('developer') !== n || count('reviewer') !== n) {
    throw new Error(`${goal.name} (hyperion): expected 1 planner, ${n} developer and ${n} review calls, got ${count('planner')}/${count('developer')}/${count('reviewer')}`);
  }
  // The tool developer's answers depend on the files as the task finds them, so its critical path comes from the model times the server actually slept.
  const cp = dev === 'tools' ? measuredCriticalPath(goal, calls).path : criticalPath;
  return { wall, bd: breakdown(view, calls, { planStart, planEnd, done: doneAt }, cp), times: taskTimes(spans, view.id), calls };
}

/** One developer protocol's engines and what they measured. */
interface Side {
  dev: Developer;
  single: Engine;
  hyperion: Engine;
  spans: TaskSpan[];
  results: GoalResult[];
  /** Developer output tokens of (b) on files that existed before the task / new files: [tools, whole-file for the same files]. */
  existing: [number, number];
  created: [number, number];
  /** The new code alone, summed: the floor of any protocol's output. */
  newCode: number;
}

const f0 = (x: number) => x.toFixed(0);
const f2 = (x: number) => x.toFixed(2);
const sumOf = (results: readonly GoalResult[], f: (r: GoalResult) => number) => results.reduce((s, r) => s + f(r), 0);

/** The side's headline figures: engine time per task (median over every task of (b)), (b)/(a) and (b)/critical path summed over the goals. */
function headline(side: Side): { engineMedian: number; single: number; criticalPath: number; devTokens: number; wholeFileTokens: number } {
  const r = side.results;
  return {
    engineMedian: median(r.flatMap((x) => x.times).map((t) => t.engine)),
    single: sumOf(r, (x) => x.wallB) / sumOf(r, (x) => x.wallA),
    criticalPath: sumOf(r, (x) => x.wallB) / sumOf(r, (x) => x.cpMs),
    devTokens: sumOf(r, (x) => x.devTokens) / r.length,
    wholeFileTokens: sumOf(r, (x) => x.wholeFileTokens) / r.length,
  };
}

function report(side: Side, out: (s?: string) => void): void {
  const { results, dev } = side;
  out('');
  out(`## developer protocol: ${dev}${dev === 'tools' ? ' (the default: edit_file/write_file + finish in one turn)' : ' (--developer whole-file: one JSON answer with every file whole)'}`);
  out(table(
    ['goal', 'shape', 'tasks', 'width', 'crit path ms', 'model (a) ms', 'wall (a) ms', 'wall (b) ms', '(b)/(a)', '(b)/crit', 'b-crit ms'],
    results.map((r) => [r.goal.name, r.goal.shape, String(r.tasks), String(r.width), f0(r.cpMs), f0(r.singleModelMs), f0(r.wallA), f0(r.wallB), f2(r.wallB / r.wallA), f2(r.wallB / r.cpMs), f0(r.wallB - r.cpMs)]),
  ));
  const sum = (f: (r: GoalResult) => number) => sumOf(results, f);
  const sumA = sum((r) => r.wallA);
  const sumB = sum((r) => r.wallB);
  const sumCp = sum((r) => r.cpMs);
  const n = results.length;
  const avg = (f: (b: RunBreakdown) => number) => f0(sum((r) => f(r.bd)) / n);
  out('');
  out(`totals: wall (a) ${f0(sumA)} ms, wall (b) ${f0(sumB)} ms, critical paths ${f0(sumCp)} ms, simulated model time of (a) ${f0(sum((r) => r.singleModelMs))} ms`);
  out(`(b)/(a): sum ${f2(sumB / sumA)}, geometric mean ${f2(geomean(results.map((r) => r.wallB / r.wallA)))}`);
  const model = (f: (g: GoalFile) => number) => results.reduce((acc, r) => acc + f(r.goal), 0);
  const sims = (o: Parameters<typeof simulatedTimes>[2] = {}) => (g: GoalFile) => simulatedTimes(g, SCALE, o);
  out(`model time only (no engine): critical paths / (a) = ${f2(sumCp / sum((r) => r.singleModelMs))}; with every task on the large model (parallelism alone) ${f2(model((g) => sims({ taskTier: 'large' })(g).criticalPathMs) / sum((r) => r.singleModelMs))}; with the tasks one after another on their routed models (faster models alone) ${f2(model((g) => sims()(g).serialMs) / sum((r) => r.singleModelMs))}`);
  out(`(b)/critical path: sum ${f2(sumB / sumCp)}, geometric mean ${f2(geomean(results.map((r) => r.wallB / r.cpMs)))}`);
  out('');
  out('where (b) spends time outside the models (mean over goals, ms of real time, not scaled):');
  out(`  planner: before the request ${avg((b) => b.plannerBefore)}, after the answer ${avg((b) => b.plannerAfter)}`);
  out(`  per task: dispatch after dependencies ${avg((b) => b.dispatch)}, start -> developer request ${avg((b) => b.beforeDev)}, developer answer -> review request ${avg((b) => b.devToReview)}, review answer -> settled ${avg((b) => b.afterReview)}`);
  out(`  run end after the last task ${avg((b) => b.tail)}; summed along the critical path ${avg((b) => b.onCriticalPath)} per goal (vs mean b-crit ${f0((sumB - sumCp) / n)})`);
  out(`  at real model speeds (scale 1) the same overhead would make (b)/critical path about ${f2((sumCp * SCALE + (sumB - sumCp)) / (sumCp * SCALE))}`);
  const all = results.flatMap((r) => r.times);
  const med = (f: (t: TaskTimes) => number) => f0(median(all.map(f)));
  out(`per task, from the engine's own spans (median over all ${all.length} tasks of (b), ms of real time; model = provider calls, SDK and HTTP included):`);
  out(`  start -> developer request ${med((t) => t.beforeDev)}, developer answer -> review request ${med((t) => t.devToReview)}, review answer -> settled ${med((t) => t.afterReview)}, model ${med((t) => t.model)}`);
  out(`  engine time per task outside model calls: median ${f0(median(all.map((t) => t.engine)))}, mean ${f0(all.reduce((s, t) => s + t.engine, 0) / Math.max(1, all.length))}, max ${f0(Math.max(...all.map((t) => t.engine)))} (goal: median <= 50)`);
  if (dev === 'tools') {
    out('');
    out('developer output tokens of (b), tools against a whole-file answer that leads to the same files (the existing content plus the new code):');
    out(table(['goal', 'tools tokens', 'whole-file tokens, same files', 'ratio'], results.map((r) => [r.goal.name, String(r.devTokens), String(r.wholeFileTokens), f2(r.devTokens / r.wholeFileTokens)])));
    const h = headline(side);
    out(`developer output tokens per goal (mean): tools ${f0(h.devTokens)}; whole-file for the same files ${f0(h.wholeFileTokens)}; tools/whole-file ${f2(h.devTokens / h.wholeFileTokens)} (goal <= 0.4)`);
    out(`  edits to files that existed before the task: ${side.existing[0]} vs ${side.existing[1]} tokens (${f2(side.existing[0] / Math.max(1, side.existing[1]))}); new files: ${side.created[0]} vs ${side.created[1]} (${f2(side.created[0] / Math.max(1, side.created[1]))}), ${f0((100 * side.created[1]) / Math.max(1, sum((r) => r.wholeFileTokens)))} % of the whole-file tokens`);
    out(`  the new code alone (the least any protocol must write) is ${side.newCode} tokens: ${f2(side.newCode / Math.max(1, sum((r) => r.wholeFileTokens)))} of the whole-file tokens for the same files, so no edit protocol can go below that ratio on these goals`);
  } else {
    out(`developer output tokens per goal (mean): ${f0(sum((r) => r.devTokens) / n)} (each file written whole, new code only: the bench's whole-file answers do not repeat a file's existing content)`);
  }
}

async function main(): Promise<void> {
  const goals = loadGoals(path.join(here, 'goals')).filter((g) => !ONLY || ONLY.includes(g.name));
  const repo = makeSampleRepo();
  const servers = await startModelServers(SCALE);
  const stateRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-bench-state-'));
  // Task worktrees of the tool developer (when a command runs) go with the bench's state, not into the user's cache.
  process.env.HYPERION_WORKTREES_DIR ??= path.join(stateRoot, 'worktrees');
  const logs: Array<ReturnType<typeof countingLogger>> = [];
  const engines: Engine[] = [];
  const loadAtStart = loadNow();
  try {
    const sides: Side[] = [];
    for (const dev of DEVELOPERS) {
      const logA = countingLogger();
      const logB = countingLogger();
      logs.push(logA, logB);
      const single = await createEngine({ repo: repo.dir, config: config(servers, singleRoutes, dev), ports: { log: logA, secrets: testSecrets }, stateDir: path.join(stateRoot, `single-${dev}`) });
      engines.push(single);
      const spans: TaskSpan[] = [];
      const hyperion = await createEngine({ repo: repo.dir, config: config(servers, hyperionRoutes, dev), ports: { log: logB, secrets: testSecrets }, stateDir: path.join(stateRoot, `hyperion-${dev}`), onTaskSpan: (s) => void spans.push(s) });
      engines.push(hyperion);
      sides.push({ dev, single, hyperion, spans, results: [], existing: [0, 0], created: [0, 0], newCode: 0 });
    }

    const out = (s = '') => process.stdout.write(`${s}\n`);
    out('# Orchestration: one large model vs Hyperion (planner + parallel tasks on faster models + review)');
    out(`machine: ${machineLine()}`);
    out(`sample repository: ${repo.files} files; ${goals.length} goals with recorded plans (bench/goals); approve: none (landing is benchmarked in queue.bench.ts)`);
    out(`models (bench/rates.md): large ${RATES.large.model} ${RATES.large.tokensPerSecond} tok/s, TTFT ${RATES.large.ttftMs} ms; mid ${RATES.mid.model} ${RATES.mid.tokensPerSecond} tok/s, TTFT ${RATES.mid.ttftMs} ms; small ${RATES.small.model} ${RATES.small.tokensPerSecond} tok/s, TTFT ${RATES.small.ttftMs} ms; 4 chars per token`);
    out(`time scale: every model delay is divided by ${SCALE} (all ms below are scaled; engine overhead is NOT scaled, so it weighs ${SCALE}x more here than at real model speeds)`);
    out('(a) single: a one-task plan routed to the large model, whose one answer writes every file of every task (+ a summary), then one review by the small model.');
    out(`(b) hyperion: engine.plan() (large model answers the recorded plan) + startRun with code_gen/test/docs/design on the mid model, audit and review on the small model, concurrency ${CONCURRENCY}.`);
    out('critical path = simulated planner call + the heaviest dependency chain of tasks, each task weighing its developer call + its review call (criticalPath() of src/engine/graph/dag.ts with those weights):');
    out('  the wall time of (b) with zero engine overhead and unlimited parallelism (every goal here has at most as many mutually independent tasks as the concurrency).');
    out(`developer protocols: ${DEVELOPERS.join(', then ')}, goal by goal in turn`);

    // Warm-up (not measured): SDK clients, HTTP keep-alive, sql.js, git caches.
    servers.scale = 1000;
    for (const g of goals.slice(0, 1)) {
      servers.goal = g;
      for (const side of sides) {
        await runSingle(side.single, servers, g);
        await runHyperion(side.hyperion, side.dev, servers, g, simulatedTimes(g, 1000).criticalPath, side.spans);
      }
    }
    servers.scale = SCALE;

    for (const goal of goals) {
      const width = widestAntichain(goal.plan.tasks);
      if (width > CONCURRENCY) throw new Error(`${goal.name}: ${width} independent tasks exceed the concurrency ${CONCURRENCY}; the critical-path bound would not hold`);
      const sim = simulatedTimes(goal, SCALE);
      servers.goal = goal;
      for (const side of sides) {
        const tools = side.dev === 'tools';
        const fromA = servers.calls.length;
        const wallA = await runSingle(side.single, servers, goal);
        const singleMs = tools ? servers.calls.slice(fromA).reduce((n, c) => n + c.latencyMs, 0) : sim.singleMs;
        const { wall: wallB, bd, times, calls } = await runHyperion(side.hyperion, side.dev, servers, goal, sim.criticalPath, side.spans);
        const cpMs = tools ? measuredCriticalPath(goal, calls).ms : sim.criticalPathMs;
        const dev = calls.filter((c) => c.role === 'developer');
        const devTokens = dev.reduce((n, c) => n + c.outputTokens, 0);
        const wholeFileTokens = dev.reduce((n, c) => n + (c.wholeFileTokens ?? c.outputTokens), 0);
        for (const k of [0, 1] as const) {
          side.existing[k] += dev.reduce((n, c) => n + (c.existingTokens?.[k] ?? 0), 0);
          side.created[k] += dev.reduce((n, c) => n + (c.createdTokens?.[k] ?? 0), 0);
        }
        side.newCode += dev.reduce((n, c) => n + (c.newCodeTokens ?? 0), 0);
        side.results.push({ goal, tasks: goal.plan.tasks.length, width, levels: levelsOf(goal), cpMs, singleModelMs: singleMs, wallA, wallB, bd, times, devTokens, wholeFileTokens });
        process.stderr.write(`  ${goal.name} (${side.dev}): a ${wallA.toFixed(0)} ms, b ${wallB.toFixed(0)} ms\n`);
      }
    }

    for (const side of sides) report(side, out);
    const problems = logs.flatMap((l) => l.problems);
    out('');
    if (sides.length > 1) {
      out('## side by side (same goals, same run, alternating goal by goal)');
      out(table(
        ['developer', 'engine ms/task (median)', 'orchestrated/single', 'orchestrated/critical-path', 'dev output tokens/goal', 'whole-file tokens/goal, same files'],
        sides.map((side) => {
          const h = headline(side);
          return [side.dev, f0(h.engineMedian), f2(h.single), f2(h.criticalPath), f0(h.devTokens), f0(h.wholeFileTokens)];
        }),
      ));
    }
    out(`1-minute load average: ${loadAtStart} at the start, ${loadNow()} at the end (this box has ${os.availableParallelism()} cpus; other work on it slows (b) more than (a))`);
    if (problems.length > 0) out(`engine warnings/errors (${problems.length}):\n  ${problems.slice(0, 10).join('\n  ')}`);
    const main = headline(sides[0]!);
    out('');
    if (sides[0]!.dev === 'tools') out(`developer output tokens per goal, tools/whole-file (same files): ${f2(main.devTokens / main.wholeFileTokens)}`);
    out(`engine time per task (median): ${f0(main.engineMedian)} ms`);
    out(`orchestrated/single: ${f2(main.single)}`);
    out(`orchestrated/critical-path: ${f2(main.criticalPath)}`);
  } finally {
    for (const e of engines) await e.dispose().catch(() => undefined);
    await servers.close();
    repo.cleanup();
    fs.rmSync(stateRoot, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`orchestration bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
