import type { Engine, TaskView } from '../../engine/api';
import type { EngineConfig } from '../../engine/config';
import type { EngineEvent } from '../../engine/events';
import { agentChoiceFor } from '../../engine/schedule/agentChoice';
import { oneLine } from './format';

/**
 * Which coding agent a task's row and graph node name, and what the agent is doing. Plain
 * data and functions, so the trees and the graph are tested without VS Code.
 */

/** The longest activity text a row or node shows; the full text is in the transcript. */
const MAX_ACTIVITY = 100;

/**
 * The agent a task runs (or ran) under: what the engine says; else, for a task that has not
 * settled, the agent the current config gives it (the engine chooses with the same config when
 * the task starts); else the agent named in its change's model (`agent:<name>/<model>`).
 * Undefined for the built-in developer.
 */
export function taskAgentName(task: TaskView, config: EngineConfig | undefined, changeModel?: string): string | undefined {
  if (task.agent) return task.agent;
  if (config && (task.status === 'pending' || task.status === 'ready' || task.status === 'running')) return agentChoiceFor(config, task)?.name;
  return /^agent:([^/]+)/.exec(changeModel ?? '')?.[1];
}

/**
 * The latest activity of each running task, from the engine's live `task/progress` events
 * (`data.text`). A task's entry goes when its state changes (it stopped running, or it runs
 * again and has not said anything yet).
 */
export class ActivityTracker {
  private readonly latest = new Map<string, string>();

  /** Returns true when the event changed what some task shows. */
  record(e: EngineEvent): boolean {
    if (!e.runId || !e.taskId) return false;
    const key = `${e.runId}/${e.taskId}`;
    if (e.kind === 'task/progress') {
      const text = typeof e.data?.text === 'string' ? oneLine(e.data.text, MAX_ACTIVITY) : '';
      if (!text || this.latest.get(key) === text) return false;
      this.latest.set(key, text);
      return true;
    }
    if (e.kind === 'task/state') return this.latest.delete(key);
    return false;
  }

  /** What a task's agent is doing now: the engine's own `activity`, else the last progress event; nothing once it stopped running. */
  activityOf(task: TaskView): string | undefined {
    if (task.status !== 'running') return undefined;
    return task.activity ? oneLine(task.activity, MAX_ACTIVITY) : this.latest.get(`${task.runId}/${task.id}`);
  }
}

/** What a task's row or node shows about its agent: its name, and while it runs, what it does. */
export interface TaskAgentView {
  agent?: string;
  activity?: string;
}

/** The agent view of each task, for the trees and the graph: its agent by name, and its activity while it runs. */
export function taskAgentViews(engine: Pick<Engine, 'config' | 'getChange'>, activity: ActivityTracker): (task: TaskView) => TaskAgentView {
  return (task) => {
    const agent = taskAgentName(task, engine.config, task.changeId ? engine.getChange(task.changeId)?.model : undefined);
    const now = activity.activityOf(task);
    return { ...(agent ? { agent } : {}), ...(now ? { activity: now } : {}) };
  };
}

/** The read-only transcript document of a task's agent. */
export const TRANSCRIPT_SCHEME = 'hyperion-transcript';

/** `/<runId>/<taskId>/transcript.log`: the `.log` extension picks the log language. */
export function transcriptPath(runId: string, taskId: string): string {
  return `/${encodeURIComponent(runId)}/${encodeURIComponent(taskId)}/transcript.log`;
}

export function parseTranscriptPath(p: string): { runId: string; taskId: string } | undefined {
  const m = /^\/([^/]+)\/([^/]+)\/transcript\.log$/.exec(p);
  if (!m) return undefined;
  try {
    return { runId: decodeURIComponent(m[1]), taskId: decodeURIComponent(m[2]) };
  } catch {
    return undefined;
  }
}

/** The transcript document's text: a header naming the task and its agent, then what the agent printed. */
export function formatTranscript(task: { runId: string; id: string; title: string }, agent: string | undefined, transcript: string | undefined): string {
  const head = `# Transcript of ${agent ? `the agent "${agent}"` : 'the agent'} for "${oneLine(task.title, 200)}" — task ${task.id} of run ${task.runId}`;
  if (transcript === undefined) return `${head}\n\nNo transcript is stored for this task: only a task run by a coding agent has one, once its agent has started.\n`;
  return `${head}\n\n${transcript}${transcript.endsWith('\n') ? '' : '\n'}`;
}
