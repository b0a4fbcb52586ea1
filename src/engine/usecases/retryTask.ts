import { supersedeTaskChanges } from '../changes/lifecycle';
import { EngineError, describeError } from '../errors';
import { RETRYABLE_TASK_STATUSES } from '../api';
import { commitWithEvents, dependentsOf, emit, getTaskRows, transitionTask } from '../runs/runs';
import type { EngineContext } from './context';
import { drivenElsewhereError, otherRunner } from '../runs/runner';

/**
 * Runs a stopped task again (failed, skipped, rejected or cancelled): its old changes are
 * superseded, and every dependent that stopped because of it (skipped or cancelled) waits
 * again. A dependent's starting point is rebuilt from what its dependencies actually landed
 * (see schedule/baseTree.ts), so a retry after a regeneration starts from the new result.
 * Throws `usage/bad-state` when the task cannot be retried, or when another process's loop
 * drives its run (that loop would never pick the task up again).
 */
export function retryTask(ctx: EngineContext, runId: string, taskId: string): void {
  const { db, clock } = ctx;
  const busy = otherRunner(db, runId);
  if (busy) throw drivenElsewhereError(runId, busy, 'retry the task');
  const at = clock.now();
  const moved = commitWithEvents(db, ctx.onEvent, (events) => {
    const ok = transitionTask(db, events, { runId, taskId, from: RETRYABLE_TASK_STATUSES, to: 'ready', at, actor: 'user', reason: 'retried by the user', error: null });
    if (!ok) return false;
    supersedeTaskChanges(db, events, { runId, taskId, from: ['proposed', 'rejected', 'failed'], at, actor: 'user', reason: 'the task is retried' });
    for (const d of dependentsOf(getTaskRows(db, runId), taskId)) {
      transitionTask(db, events, { runId, taskId: d, from: ['skipped', 'cancelled'], to: 'pending', at, actor: 'user', reason: `dependency ${taskId} is retried`, error: null });
    }
    const run = db.get<{ status: string }>('SELECT status FROM runs WHERE id = ?', [runId]);
    if (run && run.status !== 'running') {
      db.run("UPDATE runs SET status = 'running', error = NULL, updated_at = ? WHERE id = ?", [at, runId]);
      emit(db, events, { at, actor: 'user', kind: 'run/state', runId, from: run.status, to: 'running', reason: `task ${taskId} retried` });
    }
    return true;
  });
  if (!moved) throw new EngineError('usage/bad-state', `task ${taskId} cannot be retried in its current state`);
  if (!ctx.loops.has(runId)) ctx.startRunLoop(runId).catch((e) => ctx.log.error('retried run failed', { runId, error: describeError(e) }));
}
