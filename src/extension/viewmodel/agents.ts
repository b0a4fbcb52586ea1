import type { TaskView } from '../../engine/api';
import { oneLine } from './format';

/**
 * What a task's row and graph node say about its coding agent. The engine decides both facts
 * (`TaskView.agent`, `TaskView.activity`); this only shapes them for a narrow view.
 */

/** The longest activity text a row or node shows; the full text is in the transcript. */
const MAX_ACTIVITY = 100;

/** What a task's row or node shows about its agent: its name, and while it runs, what it does. */
export interface TaskAgentView {
  agent?: string;
  activity?: string;
}

/** The agent view of a task, for the trees and the graph: its agent by name, and on one line what it does while it runs. */
export function taskAgentView(task: TaskView): TaskAgentView {
  const now = task.status === 'running' && task.activity ? oneLine(task.activity, MAX_ACTIVITY) : undefined;
  return { ...(task.agent ? { agent: task.agent } : {}), ...(now ? { activity: now } : {}) };
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
