import type { RunView } from '../../src/engine/api';
import type { TaskSpan } from '../../src/engine/schedule/spans';
import type { CallRecord } from './modelServer';

/**
 * Where the time of one Hyperion run went that was not simulated model time. Every figure
 * is wall-clock ms measured from the run's own timestamps (TaskView.startedAt/finishedAt,
 * Date.now at request arrival on the model server) and the known model delays.
 */
export interface RunBreakdown {
  /** plan() start → planner request on the wire (repository map, prompt, SDK). */
  plannerBefore: number;
  /** planner answer sent → plan() returned (parse, validate, route). */
  plannerAfter: number;
  /** Per task (mean): dependencies settled (or plan returned) → task started. */
  dispatch: number;
  /** Per task (mean): task started → developer request on the wire (base tree from dependency patches, prompt). */
  beforeDev: number;
  /** Per task (mean): developer answer sent → review request on the wire (answer → tree → diff, policy). */
  devToReview: number;
  /** Per task (mean): review answer sent → task settled (change stored, events). */
  afterReview: number;
  /** Last task settled → `done` resolved (run finished). */
  tail: number;
  /** The same overheads summed along the simulated critical path (planner + chain + tail). */
  onCriticalPath: number;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

export function breakdown(
  view: RunView,
  calls: readonly CallRecord[],
  t: { planStart: number; planEnd: number; done: number },
  criticalPath: readonly string[],
): RunBreakdown {
  const planner = calls.find((c) => c.role === 'planner');
  if (!planner) throw new Error('no planner call was recorded');
  const byId = new Map(view.tasks.map((x) => [x.id, x]));
  const per = new Map<string, { dispatch: number; beforeDev: number; devToReview: number; afterReview: number }>();
  for (const task of view.tasks) {
    const dev = calls.find((c) => c.role === 'developer' && c.taskId === task.id);
    const rev = calls.find((c) => c.role === 'reviewer' && c.taskId === task.id);
    if (!dev || !rev || task.startedAt === undefined || task.finishedAt === undefined) throw new Error(`task ${task.id} has no complete timeline`);
    const ready = task.dependsOn.length ? Math.max(...task.dependsOn.map((d) => byId.get(d)!.finishedAt!)) : t.planEnd;
    per.set(task.id, {
      dispatch: task.startedAt - ready,
      beforeDev: dev.arrivedAt - task.startedAt,
      devToReview: rev.arrivedAt - (dev.arrivedAt + dev.latencyMs),
      afterReview: task.finishedAt - (rev.arrivedAt + rev.latencyMs),
    });
  }
  const all = [...per.values()];
  const lastFinish = Math.max(...view.tasks.map((x) => x.finishedAt!));
  const plannerBefore = planner.arrivedAt - t.planStart;
  const plannerAfter = t.planEnd - (planner.arrivedAt + planner.latencyMs);
  const tail = t.done - lastFinish;
  const chain = criticalPath.reduce((s, id) => {
    const p = per.get(id)!;
    return s + p.dispatch + p.beforeDev + p.devToReview + p.afterReview;
  }, 0);
  return {
    plannerBefore,
    plannerAfter,
    dispatch: mean(all.map((p) => p.dispatch)),
    beforeDev: mean(all.map((p) => p.beforeDev)),
    devToReview: mean(all.map((p) => p.devToReview)),
    afterReview: mean(all.map((p) => p.afterReview)),
    tail,
    onCriticalPath: plannerBefore + plannerAfter + chain + tail,
  };
}

/** One task as the engine's own spans (src/engine/schedule/spans.ts) saw it, in ms. */
export interface TaskTimes {
  taskId: string;
  /** Task runner start → first developer request handed to the provider. */
  beforeDev: number;
  /** Last developer answer → review request handed to the provider. */
  devToReview: number;
  /** Review answer → task settled (change stored; approved and enqueued when the run approves all). */
  afterReview: number;
  /** Sum of the task's provider calls (SDK + HTTP + the simulated model). */
  model: number;
  /** The task's wall time minus its model calls: what the engine itself cost this task. */
  engine: number;
}

/** Per-task times of one run from its spans; throws when a task has no complete set. */
export function taskTimes(spans: readonly TaskSpan[], runId: string): TaskTimes[] {
  const mine = spans.filter((s) => s.runId === runId);
  const out: TaskTimes[] = [];
  for (const task of mine.filter((s) => s.kind === 'task')) {
    const calls = mine.filter((s) => s.kind === 'model' && s.taskId === task.taskId && s.start >= task.start && s.end <= task.end).sort((a, b) => a.start - b.start);
    const dev = calls.filter((c) => c.role !== 'reviewer');
    const rev = calls.find((c) => c.role === 'reviewer');
    if (dev.length === 0 || !rev) throw new Error(`task ${task.taskId}: no developer or review span`);
    const model = calls.reduce((s, c) => s + (c.end - c.start), 0);
    out.push({
      taskId: task.taskId,
      beforeDev: dev[0]!.start - task.start,
      devToReview: rev.start - dev[dev.length - 1]!.end,
      afterReview: task.end - rev.end,
      model,
      engine: task.end - task.start - model,
    });
  }
  return out;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
