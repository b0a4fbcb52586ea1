import type { ChangeView, QueueEntryView, RunSummary, RunView, SummaryCheck, SummaryTask, TaskView } from '../api';

/** One stored check run (a `check_outputs` row without its output). */
export interface CheckRun {
  entryId: string;
  attempt: number;
  command: string;
  exitCode: number | null;
  timedOut: boolean;
  durationMs?: number;
}

/** What the summary is built from: the run's views, nothing read from git or the store. */
export interface RunSummaryInput {
  run: RunView;
  /** The run's changes (any order; superseded versions are ignored). */
  changes: readonly ChangeView[];
  /** The run's queue entries. */
  queue: readonly QueueEntryView[];
  checks: readonly CheckRun[];
  /** Whether a task's model has a price (default: every model does). */
  isPriced?: (task: TaskView) => boolean;
}

/**
 * Lines added and removed per file of a unified diff, as `git diff --numstat` counts them.
 * Hunk bodies are read by their header counts, so a removed line that reads `-- x` or an
 * added `++ y` is never taken for a file header. The +++ path names the file (the --- path for a deletion).
 */
export function patchLineCounts(patch: string): Map<string, { added: number; removed: number }> {
  const out = new Map<string, { added: number; removed: number }>();
  const lines = patch.split('\n');
  let file: { added: number; removed: number } | undefined;
  let oldPath: string | undefined;
  const start = (p: string) => {
    file = out.get(p) ?? { added: 0, removed: 0 };
    out.set(p, file);
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    // Outside a hunk body, so these are headers.
    if (line.startsWith('--- ')) oldPath = line.slice(4).replace(/^a\//, '');
    if (line.startsWith('+++ ')) {
      const p = line.slice(4).replace(/^b\//, '');
      start(p === '/dev/null' && oldPath ? oldPath : p);
      continue;
    }
    const hunk = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/.exec(line);
    if (!hunk || !file) continue;
    let oldLeft = hunk[1] === undefined ? 1 : Number(hunk[1]);
    let newLeft = hunk[2] === undefined ? 1 : Number(hunk[2]);
    while ((oldLeft > 0 || newLeft > 0) && i + 1 < lines.length) {
      const body = lines[++i];
      if (body.startsWith('\\')) continue;
      if (body.startsWith('+')) (file.added++, newLeft--);
      else if (body.startsWith('-')) (file.removed++, oldLeft--);
      else (oldLeft--, newLeft--);
    }
  }
  return out;
}

/** The change that speaks for a task: its current one (the task's), else its newest that was not replaced. */
function changeOf(task: TaskView, changes: readonly ChangeView[]): ChangeView | undefined {
  const own = changes.filter((c) => c.taskId === task.id && c.status !== 'superseded');
  return own.find((c) => c.id === task.changeId) ?? own[0];
}

/** Why a task has not landed, or undefined when it has nothing left to wait for. */
function waitingReason(task: TaskView, runStatus: RunView['status']): string | undefined {
  switch (task.status) {
    case 'merged': case 'rejected': case 'skipped': case 'cancelled': return undefined;
    case 'proposed': return task.error ?? 'waiting for review';
    case 'approved': return task.error ?? 'approved, waiting to land';
    case 'failed': return `failed: ${task.error ?? 'error'} (Retry Task runs it again)`;
    case 'running': return 'the agent is working on it';
    case 'pending': return runStatus === 'draft' ? 'not started: the plan is a draft' : 'waiting for its dependencies';
    case 'ready': return 'waiting for a free agent';
    default: return undefined;
  }
}

/**
 * The run summary, built from the run's views only (pure: the same views give the same
 * summary, so a test can check it against git and the queue). Per task: the files and lines
 * of the change that lands (files the user left out are not counted), the reviewer's verdict,
 * every check run stored for its land entries, cost, agent time and the landed commit.
 */
export function buildRunSummary(input: RunSummaryInput): RunSummary {
  const { run } = input;
  const tasks: SummaryTask[] = run.tasks.map((t) => {
    const change = changeOf(t, input.changes);
    const counts = change ? patchLineCounts(change.patch) : new Map<string, { added: number; removed: number }>();
    const left = new Set(change?.excludedFiles ?? []);
    const files = (change?.files ?? []).filter((f) => !left.has(f)).map((path) => ({ path, added: counts.get(path)?.added ?? 0, removed: counts.get(path)?.removed ?? 0 }));
    const entries = new Set(input.queue.filter((e) => e.runId === run.id && e.taskId === t.id && e.kind === 'land').map((e) => e.id));
    const checks: SummaryCheck[] = input.checks
      .filter((c) => entries.has(c.entryId))
      .map((c) => ({ command: c.command, attempt: c.attempt, exitCode: c.exitCode, timedOut: c.timedOut, durationMs: c.durationMs, passed: c.exitCode === 0 && !c.timedOut }));
    const waiting = waitingReason(t, run.status);
    return {
      id: t.id,
      title: t.title,
      status: t.status,
      files,
      linesAdded: files.reduce((s, f) => s + f.added, 0),
      linesRemoved: files.reduce((s, f) => s + f.removed, 0),
      reviewVerdict: change?.reviewVerdict,
      checks,
      costUsd: t.costUsd,
      costKnown: input.isPriced ? input.isPriced(t) : true,
      durationMs: t.startedAt !== undefined && t.finishedAt !== undefined ? Math.max(0, t.finishedAt - t.startedAt) : undefined,
      commit: t.commit,
      ...(waiting ? { waiting } : {}),
    };
  });
  const landed = tasks.filter((t) => t.status === 'merged');
  return {
    runId: run.id,
    goal: run.goal,
    status: run.status,
    baseCommit: run.baseCommit,
    tasks,
    totals: {
      tasks: tasks.length,
      merged: landed.length,
      files: new Set(landed.flatMap((t) => t.files.map((f) => f.path))).size,
      linesAdded: landed.reduce((s, t) => s + t.linesAdded, 0),
      linesRemoved: landed.reduce((s, t) => s + t.linesRemoved, 0),
      costUsd: tasks.reduce((s, t) => s + t.costUsd, 0),
      costKnown: tasks.every((t) => t.costKnown),
      durationMs: tasks.reduce((s, t) => s + (t.durationMs ?? 0), 0),
      checksRun: tasks.reduce((s, t) => s + t.checks.length, 0),
      checksFailed: tasks.reduce((s, t) => s + t.checks.filter((c) => !c.passed).length, 0),
    },
    waiting: tasks.flatMap((t) => (t.waiting ? [{ taskId: t.id, reason: t.waiting }] : [])),
  };
}
