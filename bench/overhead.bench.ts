// Engine overhead benchmark: scheduling and bookkeeping per task on a seeded random DAG of
// 1,000 tasks (and 100 for comparison), with model calls answered instantly by an in-process
// ChatProvider (providerOverrides) — this measures the engine, not HTTP or model latency.
// Run: ./node_modules/.bin/node --import tsx bench/overhead.bench.ts
// Each size runs in its own child process (`--child <n>`, started with --expose-gc) so memory
// figures do not mix. Last line: `overhead per task (1000): <ms> ms, peak rss <MB> MB`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunnablePlan } from '../src/engine/api';
import { EngineConfig } from '../src/engine/config';
import { createEngine } from '../src/engine/engine';
import { depth } from '../src/engine/graph/dag';
import { silentLogger } from '../src/engine/ports';
import type { ChatProvider, ChatRequest, ChatResponse } from '../src/engine/providers/types';
import { testSecrets } from '../test/support/loopback/client';
import { seededRandom } from './support/content';
import { loadNow, machineLine, table } from './support/machine';
import { makeSampleRepo } from './support/sampleRepo';

const here = path.dirname(fileURLToPath(import.meta.url));
const CONCURRENCY = 8;

/** Task i depends on 0–3 earlier tasks from the 50 before it (15 % are roots): a deep, bushy DAG. */
export function randomPlan(n: number, seed = 42): RunnablePlan {
  const r = seededRandom(seed);
  const tasks = Array.from({ length: n }, (_, i) => {
    const deps = new Set<string>();
    if (i > 0 && r() >= 0.15) {
      const k = 1 + Math.floor(r() * 3);
      for (let j = 0; j < k; j++) deps.add(`t${Math.max(0, i - 1 - Math.floor(r() * 50))}`);
    }
    return { id: `t${i}`, title: `task ${i}`, type: 'code_gen' as const, prompt: `Do step ${i}.`, acceptanceCriteria: [`step ${i} is done`], dependsOn: [...deps], files: [] };
  });
  return { goal: `random DAG of ${n} tasks`, rationale: '', confidence: 1, questions: [], assumptions: [], tasks };
}

/** Answers at once: the developer finishes with no file change, the reviewer approves. */
const instantProvider: ChatProvider = {
  kind: 'openai',
  async chat(req: ChatRequest): Promise<ChatResponse> {
    const text = req.json?.name === 'review' ? '{"verdict":"approve","comments":"ok"}' : '{"action":"finish","summary":"done"}';
    return { text, usage: { inputTokens: 10, outputTokens: 5 }, model: req.model, provider: 'openai', finishReason: 'stop' };
  },
};

interface ChildResult {
  tasks: number;
  depth: number;
  wallMs: number;
  perTaskMs: number;
  startRunMs: number;
  baselineRssMb: number;
  peakRssMb: number;
  peakHeapMb: number;
  modelCalls: number;
  status: string;
}

async function child(n: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const repo = makeSampleRepo();
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-bench-state-'));
  let calls = 0;
  const counting: ChatProvider = { kind: 'openai', chat: (req) => (calls++, instantProvider.chat(req)) };
  const config = EngineConfig.parse({ routes: { default: [{ provider: 'openai', model: 'instant' }] }, concurrency: CONCURRENCY, agentMaxSteps: 2, maxRetries: 0 });
  const engine = await createEngine({ repo: repo.dir, config, ports: { log: silentLogger, secrets: testSecrets }, stateDir, providerOverrides: { openai: counting } });
  try {
    const plan = randomPlan(n);
    gc?.();
    const mb = (b: number) => b / 1024 / 1024;
    const baselineRss = process.memoryUsage().rss;
    let peakRss = baselineRss;
    let peakHeap = process.memoryUsage().heapUsed;
    const sample = () => {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakHeap = Math.max(peakHeap, m.heapUsed);
    };
    const timer = setInterval(sample, 25);
    const t0 = performance.now();
    const { done } = await engine.startRun(plan, { approve: 'none' });
    const startRunMs = performance.now() - t0;
    const view = await done;
    const wallMs = performance.now() - t0;
    clearInterval(timer);
    sample();
    const notProposed = view.tasks.filter((t) => t.status !== 'proposed').length;
    const result: ChildResult = {
      tasks: n, depth: depth(plan.tasks), wallMs, perTaskMs: wallMs / n, startRunMs,
      baselineRssMb: mb(baselineRss), peakRssMb: mb(peakRss), peakHeapMb: mb(peakHeap), modelCalls: calls,
      status: notProposed === 0 ? view.status : `${view.status}, ${notProposed} task(s) not proposed`,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await engine.dispose();
    repo.cleanup();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

function runChild(n: number): ChildResult {
  const node = path.join(here, '..', 'node_modules', '.bin', 'node');
  const r = spawnSync(fs.existsSync(node) ? node : process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--child', String(n)], {
    cwd: path.join(here, '..'), encoding: 'utf8', maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`overhead child (${n} tasks) failed (${r.status}): ${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop()!;
  return JSON.parse(line) as ChildResult;
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--child');
  if (i > 0) return child(Number(process.argv[i + 1]));
  const out = (s = '') => process.stdout.write(`${s}\n`);
  out('# Engine overhead: scheduling + bookkeeping per task (instant in-process model, no HTTP)');
  out(`machine: ${machineLine()}`);
  out(`each task: developer call -> finish with no file change, review call -> approve; concurrency ${CONCURRENCY}; approve: none; the store is the real on-disk sql.js store, git is real`);
  out('what a task costs here: ~3 durable transactions (start with its promotion, the developer call record, the change with its review call), a base commit for dependents written in batches (fast-import + update-ref --stdin) and the scheduler loop.');
  out('not included: applying dependency patches (empty here); see orchestration.bench.ts for per-task git cost with real patches.');
  const r100 = [runChild(100), runChild(100), runChild(100)].sort((a, b) => a.perTaskMs - b.perTaskMs)[1]!;
  const r1000 = runChild(1000);
  const f = (x: number, d = 1) => x.toFixed(d);
  out('');
  out(table(
    ['tasks', 'depth', 'status', 'wall ms', 'per task ms', 'startRun ms', 'model calls', 'rss before MB', 'peak rss MB', 'peak heap MB'],
    [r100, r1000].map((r) => [String(r.tasks), String(r.depth), r.status, f(r.wallMs, 0), f(r.perTaskMs, 2), f(r.startRunMs, 0), String(r.modelCalls), f(r.baselineRssMb), f(r.peakRssMb), f(r.peakHeapMb)]),
  ));
  out(`(100-task row: median of 3 runs by per-task time); 1-minute load average at the end: ${loadNow()}`);
  out(`per-task time 1000 / 100: ${f(r1000.perTaskMs / r100.perTaskMs, 2)} (1.00 = bookkeeping does not grow with run size)`);
  out('');
  out(`overhead per task (1000): ${f(r1000.perTaskMs, 2)} ms, peak rss ${f(r1000.peakRssMb, 0)} MB`);
}

main().catch((e) => {
  process.stderr.write(`overhead bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
