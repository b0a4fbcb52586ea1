import { BUILTIN_DEVELOPER } from '../agents/harness';
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
 * The agent of each task of a run, from its stored plan, computed once per run: a stored plan
 * never changes, and it can be large (ready-made patches are in it), while hosts read views on
 * every change notification. The engine's config is fixed for its life, so is the answer.
 */
export class RunAgents {
  private readonly byRun = new Map<string, Map<string, string | undefined>>();

  constructor(readonly db: Db, private readonly config: EngineConfig) {}

  of(runId: string, taskId: string, type: string): string | undefined {
    let run = this.byRun.get(runId);
    if (!run) {
      run = new Map((getStoredPlan(this.db, runId)?.tasks ?? []).map((t) => [t.id, agentChoiceFor(this.config, t)?.name]));
      this.byRun.set(runId, run);
    }
    return run.has(taskId) ? run.get(taskId) : agentChoiceFor(this.config, { type })?.name;
  }
}

/** Statuses of a task whose agent, if it had one, has already run. */
function hasRun(status: TaskView['status']): boolean {
  return status !== 'pending' && status !== 'ready' && status !== 'running';
}

/**
 * The agent of each task's latest recorded attempt in a run (every agent attempt leaves a
 * transcript row). Read only for tasks the config no longer gives an agent, which is rare.
 */
function recordedAgents(db: Db): (runId: string, taskId: string) => string | undefined {
  const byRun = new Map<string, Map<string, string>>();
  return (runId, taskId) => {
    let run = byRun.get(runId);
    if (!run) {
      const rows = db.all<{ task_id: string; agent: string }>('SELECT task_id, agent FROM task_transcripts WHERE run_id = ? ORDER BY attempt', [runId]);
      run = new Map(rows.map((r) => [r.task_id, r.agent]));
      byRun.set(runId, run);
    }
    const agent = run.get(taskId);
    return agent === BUILTIN_DEVELOPER ? undefined : agent;
  };
}

/**
 * Task views with `activity` (while running) and `agent` (the configured agent that runs or
 * will run the task, from the stored plan and `agentChoiceFor`; for a task that already ran and
 * that the config now gives no agent, the agent recorded for its latest attempt; undefined for
 * the built-in developer and for ready-made patches). Hosts show these as they are.
 */
export function withAgentInfo(agents: RunAgents, activity: TaskActivity, tasks: TaskView[]): TaskView[] {
  const recorded = recordedAgents(agents.db);
  return tasks.map((t) => {
    const agent = agents.of(t.runId, t.id, t.type) ?? (hasRun(t.status) ? recorded(t.runId, t.id) : undefined);
    const now = t.status === 'running' ? activity.of(t.runId, t.id) : undefined;
    return { ...t, ...(agent !== undefined ? { agent } : {}), ...(now !== undefined ? { activity: now } : {}) };
  });
}

export function runWithAgentInfo(agents: RunAgents, activity: TaskActivity, run: RunView | undefined): RunView | undefined {
  return run ? { ...run, tasks: withAgentInfo(agents, activity, run.tasks) } : undefined;
}
