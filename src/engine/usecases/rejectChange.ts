import { requireChange, supersedeTaskChanges, transitionChange } from '../changes/lifecycle';
import { EngineError } from '../errors';
import { commitWithEvents, dependentsOf, getTaskRows, transitionTask } from '../runs/runs';
import { skipDependents } from '../schedule/scheduler';
import type { EngineContext } from './context';

/**
 * Rejects a change that has not landed: its queue entry (if any) is rejected, the task ends
 * `rejected`, and dependents that built on it are skipped with their changes superseded.
 * Throws `usage/bad-state` for a merged change (revert it instead).
 */
export function rejectChange(ctx: EngineContext, changeId: string, reason = 'rejected by the user'): void {
  const { db, clock, queue } = ctx;
  const c = requireChange(db, changeId);
  if (c.status === 'merged') throw new EngineError('usage/bad-state', `change ${changeId} is already merged; revert it instead`);
  if (!['proposed', 'approved', 'queued'].includes(c.status)) throw new EngineError('usage/bad-state', `change ${changeId} is ${c.status}; only a change that has not landed can be rejected`);
  const entry = queue.list().find((e) => e.changeId === changeId && e.kind === 'land' && !['merged', 'rejected', 'reverted', 'superseded', 'failed', 'quarantined'].includes(e.state));
  if (entry) queue.reject(entry.id, reason);
  const at = clock.now();
  commitWithEvents(db, ctx.onEvent, (events) => {
    transitionChange(db, events, { changeId, from: ['proposed', 'approved', 'queued'], to: 'rejected', at, actor: 'user', reason, set: { error: reason } });
    transitionTask(db, events, { runId: c.run_id, taskId: c.task_id, from: ['proposed', 'approved'], to: 'rejected', at, actor: 'user', reason, error: reason });
    // Dependents that already proposed a change on top of this one lose their base.
    for (const d of dependentsOf(getTaskRows(db, c.run_id), c.task_id)) {
      const why = `dependency ${c.task_id} was rejected`;
      if (transitionTask(db, events, { runId: c.run_id, taskId: d, from: ['proposed', 'approved'], to: 'skipped', at, reason: why, error: why })) {
        supersedeTaskChanges(db, events, { runId: c.run_id, taskId: d, from: ['proposed', 'approved'], at, actor: 'user', reason: why });
      }
    }
  });
  skipDependents(db, ctx.registry, c.run_id, c.task_id, `dependency ${c.task_id} was rejected`, clock, ctx.onEvent);
}
