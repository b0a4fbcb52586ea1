import type { RunView } from '../../src/engine/api';
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
