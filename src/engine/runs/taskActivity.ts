import type { RunView, TaskView } from '../api';
import type { EngineConfig } from '../config';
import type { EngineEvent } from '../events';
import { agentChoiceFor } from '../schedule/agentChoice';
import type { Db } from '../store/types';
import { getStoredPlan } from './runs';

/**
 * What each running agent task is doing now ("editing src/a.ts"), from the live
 * `task/progress` events. Held in memory only: it is what a row shows while the task runs, not
 * history (the transcript is). A task's line is dropped when it leaves `running`.
 */
export class TaskActivity {
  private readonly latest = new Map<string, string>();

  observe(e: EngineEvent): void {
    if (!e.runId || !e.taskId) return;
    const key = `${e.runId}\u0000${e.taskId}`;
    if (e.kind === 'task/progress' && typeof e.data?.text === 'string') this.latest.set(key, e.data.text);
    else if (e.kind === 'task/state' && e.to !== 'running') this.latest.delete(key);
  }

  of(runId: string, taskId: string): string | undefined {
    return this.latest.get(`${runId}\u0000${taskId}`);
  }
}

/**
 * Task views with `activity` (while running) and `agent` (the configured agent that runs or
 * will run the task, from the stored plan and `agentChoiceFor`; undefined for the built-in
 * developer and for ready-made patches). One stored-plan read per run.
 */
export function withAgentInfo(db: Db, config: EngineConfig, activity: TaskActivity, tasks: TaskView[]): TaskView[] {
  const plans = new Map<string, Map<string, { type: string; patch?: string; agent?: string; model?: string }>>();
  const planOf = (runId: string) => {
    let p = plans.get(runId);
    if (!p) plans.set(runId, (p = new Map((getStoredPlan(db, runId)?.tasks ?? []).map((t) => [t.id, t]))));
    return p;
  };
  return tasks.map((t) => {
    const stored = planOf(t.runId).get(t.id);
    const agent = agentChoiceFor(config, stored ?? { type: t.type })?.name;
    const now = t.status === 'running' ? activity.of(t.runId, t.id) : undefined;
    return { ...t, ...(agent !== undefined ? { agent } : {}), ...(now !== undefined ? { activity: now } : {}) };
  });
}

export function runWithAgentInfo(db: Db, config: EngineConfig, activity: TaskActivity, run: RunView | undefined): RunView | undefined {
  return run ? { ...run, tasks: withAgentInfo(db, config, activity, run.tasks) } : undefined;
}
