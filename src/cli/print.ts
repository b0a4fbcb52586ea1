import type { ChangeVerification, Engine, QueueEntryView, QueueSummary, RequestView, RunView, RunnablePlan, TaskView } from '../engine/api';
import { verificationText } from '../engine/changes/verification';
import { criticalPath, topologicalLevels } from '../engine/graph/dag';

/** Human-readable output on stdout. Model-written text is printed as-is, never interpreted. */
function line(s = ''): void {
  process.stdout.write(`${s}\n`);
}

export function printPlan(plan: RunnablePlan): void {
  line(`Goal: ${plan.goal}`);
  if (plan.rationale) line(`Why:  ${plan.rationale}`);
  line(`Confidence: ${Math.round(plan.confidence * 100)}%`);
  for (const a of plan.assumptions) line(`Assumption: ${a}`);
  const levels = topologicalLevels(plan.tasks);
  const critical = new Set(criticalPath(plan.tasks).path);
  levels.forEach((ids, i) => {
    line(`\nLevel ${i + 1}${ids.length > 1 ? ' (parallel)' : ''}`);
    for (const id of ids) {
      const t = plan.tasks.find((x) => x.id === id)!;
      const route = t.route ? ` -> ${t.route.provider}:${t.route.model}` : '';
      line(`  ${critical.has(id) ? '*' : ' '} ${t.id} [${t.type}] ${t.title}${route}`);
      if (t.dependsOn.length) line(`      after: ${t.dependsOn.join(', ')}`);
      if (t.files.length) line(`      files: ${t.files.join(', ')}`);
    }
  });
  line('\n* on the critical path');
}

/** A task as the CLI's JSON shows it: the change id is what `queue approve|reject|revert` takes. */
export interface TaskJson {
  id: string;
  title: string;
  status: string;
  changeId: string | null;
  commit: string | null;
  error: string | null;
}

function taskJson(t: TaskView): TaskJson {
  return { id: t.id, title: t.title, status: t.status, changeId: t.changeId ?? null, commit: t.status === 'merged' ? (t.commit ?? null) : null, error: t.error ?? null };
}

export function runResultJson(run: RunView): { runId: string; status: string; costUsd: number; tasks: TaskJson[] } {
  return { runId: run.id, status: run.status, costUsd: run.costUsd, tasks: run.tasks.map(taskJson) };
}

function taskLine(t: TaskView): string {
  const change = t.changeId ? ` ${t.changeId}` : '';
  const commit = t.status === 'merged' && t.commit ? ` ${t.commit.slice(0, 10)}` : '';
  return `  ${t.id.padEnd(12)} ${t.status.padEnd(10)} ${t.title}${change}${commit}${t.error ? `\n      ${t.error}` : ''}`;
}

/**
 * `verificationOf`: the change's own check in the task's worktree (the tool developer's), printed
 * under its task so a CLI user sees what was verified before approving.
 */
export function printRun(run: RunView, queue: QueueEntryView[], verificationOf?: (changeId: string) => ChangeVerification | undefined): void {
  line(`Run ${run.id}: ${run.status} ($${run.costUsd.toFixed(4)})`);
  for (const t of run.tasks) {
    line(taskLine(t));
    const v = t.changeId ? verificationOf?.(t.changeId) : undefined;
    if (v) line(`      ${verificationText(v)}`);
  }
  const mine = queue.filter((e) => e.runId === run.id);
  if (mine.length) printQueue(mine);
}

export function printQueue(entries: QueueEntryView[]): void {
  if (entries.length === 0) return line('Queue is empty.');
  line('Queue:');
  for (const e of entries) {
    line(`  ${e.id.padEnd(14)} ${e.kind.padEnd(6)} ${e.state.padEnd(12)} task ${e.taskId} change ${e.changeId}${e.landedCommit ? ` ${e.landedCommit.slice(0, 10)}` : ''}${e.lastError ? ` (${e.lastError})` : ''}`);
  }
}

export function printStatus(run: RunView | undefined, q: QueueSummary): void {
  if (!run) line('No runs yet.');
  else printRun(run, []);
  line(`Queue: ${q.running} running, ${q.awaitingReview} awaiting review, ${q.queued} queued, ${q.merged} merged, ${q.failed} failed, ${q.blocked} blocked`);
}

export interface HistoryItem {
  request: RequestView;
  tasks: TaskView[];
}

/** `history --json`: the requests, newest first, each with its tasks and their change ids. */
export function historyJson(items: HistoryItem[]): { requests: Array<RequestView & { tasks: TaskJson[] }> } {
  return { requests: items.map(({ request, tasks }) => ({ ...request, tasks: tasks.map(taskJson) })) };
}

function counts(c: RequestView['taskCounts']): string {
  const parts = Object.entries(c).map(([status, n]) => `${n} ${status}`);
  return parts.length ? parts.join(', ') : 'no tasks';
}

export function printHistory(items: HistoryItem[]): void {
  if (items.length === 0) return line('No requests yet.');
  for (const { request: r, tasks } of items) {
    const when = new Date(r.createdAt).toISOString().slice(0, 16).replace('T', ' ');
    const goal = r.goal.replace(/\s+/g, ' ');
    line(`${when}  ${r.runId}  ${r.status.padEnd(15)} ${counts(r.taskCounts)}  ${goal.length > 80 ? `${goal.slice(0, 79)}…` : goal}`);
    for (const t of tasks) line(taskLine(t));
  }
}

/**
 * Prints each `task/progress` event of `engine` as "  <task> … <what the agent does>" while a
 * run goes (human output only: `--json` keeps stdout to one object). The engine throttles the
 * events, so this prints at most a few lines a second per task. Returns the subscription.
 */
export function printProgress(onDidChange: Engine['onDidChange']): { dispose(): void } {
  return onDidChange((e) => {
    if (e.kind === 'task/progress' && typeof e.data?.text === 'string') line(`  ${(e.taskId ?? '').padEnd(12)} … ${e.data.text}`);
  });
}
