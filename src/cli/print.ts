import type { QueueEntryView, QueueSummary, RunView, RunnablePlan, TaskView } from '../engine/api';
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

export function runResultJson(run: RunView): { runId: string; status: string; costUsd: number; tasks: Array<{ id: string; status: string; commit: string | null; error: string | null }> } {
  return {
    runId: run.id,
    status: run.status,
    costUsd: run.costUsd,
    tasks: run.tasks.map((t) => ({ id: t.id, status: t.status, commit: t.status === 'merged' ? (t.commit ?? null) : null, error: t.error ?? null })),
  };
}

export function printRun(run: RunView, queue: QueueEntryView[]): void {
  line(`Run ${run.id}: ${run.status} ($${run.costUsd.toFixed(4)})`);
  for (const t of run.tasks) {
    const commit = t.commit ? ` ${t.commit.slice(0, 10)}` : '';
    line(`  ${t.id.padEnd(12)} ${t.status.padEnd(10)}${commit} ${t.title}${t.error ? `\n      ${t.error}` : ''}`);
  }
  const mine = queue.filter((e) => e.runId === run.id);
  if (mine.length) printQueue(mine);
}

export function printQueue(entries: QueueEntryView[]): void {
  if (entries.length === 0) return line('Queue is empty.');
  line('Queue:');
  for (const e of entries) {
    line(`  ${e.id.padEnd(14)} ${e.kind.padEnd(6)} ${e.state.padEnd(12)} task ${e.taskId}${e.landedCommit ? ` ${e.landedCommit.slice(0, 10)}` : ''}${e.lastError ? ` (${e.lastError})` : ''}`);
  }
}

export function printStatus(run: RunView | undefined, q: QueueSummary): void {
  if (!run) line('No runs yet.');
  else printRun(run, []);
  line(`Queue: ${q.running} running, ${q.awaitingReview} awaiting review, ${q.queued} queued, ${q.merged} merged, ${q.failed} failed, ${q.blocked} blocked`);
}

export function printHistory(tasks: TaskView[]): void {
  if (tasks.length === 0) return line('No tasks yet.');
  for (const t of tasks) line(`${t.runId.slice(0, 12).padEnd(13)} ${t.id.padEnd(12)} ${t.status.padEnd(10)} ${t.title}`);
}
