// Seeded random runs for the graph-render benchmark, shaped like what the host hands to
// `layoutGraph`: a RunView whose tasks carry realistic titles, mixed statuses and costs.
import type { RunView, TaskStatus, TaskView } from '../../src/engine/api';
import { TASK_TYPES } from '../../src/engine/plan/schema';
import { seededRandom } from './content';

const VERBS = ['Add', 'Refactor', 'Validate', 'Test', 'Document', 'Cache', 'Split', 'Harden', 'Index', 'Migrate'];
const NOUNS = ['cart totals', 'coupon rules', 'order history', 'stock levels', 'user sessions', 'invoice export', 'refund flow', 'shipment tracking', 'tax tables', 'rate limiter', 'search index', 'audit log'];
const PLACES = ['in the API', 'in the worker', 'for the admin page', 'behind a flag', 'with retries', 'for mobile clients'];

/** Mostly finished or in flight, like a run someone opens the graph for. */
const STATUS_WEIGHTS: Array<[TaskStatus, number]> = [
  ['merged', 30], ['approved', 5], ['proposed', 15], ['running', 10], ['ready', 5],
  ['pending', 25], ['failed', 4], ['rejected', 3], ['skipped', 2], ['cancelled', 1],
];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function pickStatus(r: () => number): TaskStatus {
  const total = STATUS_WEIGHTS.reduce((s, [, w]) => s + w, 0);
  let x = r() * total;
  for (const [s, w] of STATUS_WEIGHTS) {
    x -= w;
    if (x < 0) return s;
  }
  return 'pending';
}

/**
 * A run of `n` tasks. Task i depends on 1–3 of the 12 tasks before it (20 % are roots), so
 * the DAG grows deeper with n, as long plans do; same seed, same run.
 */
export function randomRun(n: number, seed: number): RunView {
  const r = seededRandom(seed);
  const tasks: TaskView[] = Array.from({ length: n }, (_, i) => {
    const deps = new Set<string>();
    if (i > 0 && r() >= 0.2) {
      const k = 1 + Math.floor(r() * 3);
      for (let j = 0; j < k; j++) deps.add(`t${Math.max(0, i - 1 - Math.floor(r() * 12))}`);
    }
    const status = pickStatus(r);
    const spent = status !== 'pending' && status !== 'ready' && status !== 'skipped';
    const hasChange = status === 'proposed' || status === 'approved' || status === 'merged' || status === 'rejected';
    return {
      id: `t${i}`,
      runId: `run-${n}`,
      title: `${pick(r, VERBS)} ${pick(r, NOUNS)} ${pick(r, PLACES)}`,
      type: pick(r, TASK_TYPES),
      prompt: `Step ${i}.`,
      acceptanceCriteria: [],
      dependsOn: [...deps],
      files: [],
      status,
      attempts: spent ? 1 : 0,
      costUsd: spent ? Math.round(r() * 400) / 10_000 : 0,
      ...(hasChange ? { changeId: `c${i}` } : {}),
    };
  });
  return {
    id: `run-${n}`,
    goal: `Random plan of ${n} tasks (seed ${seed}) for the graph-render benchmark`,
    status: 'running',
    costUsd: tasks.reduce((s, t) => s + t.costUsd, 0),
    createdAt: 0,
    tasks,
  };
}
