import { transitionChange } from '../changes/lifecycle';
import { describeError } from '../errors';
import { commitWithEvents, transitionTask } from '../runs/runs';
import type { EngineContext } from './context';
import { autoApprove } from './approveChange';

/**
 * Settles changes a crash (or an older Hyperion, which approved and queued in two
 * transactions) left between states, once at start-up:
 * - `approved` with no live queue entry: queued now, or back to review when the queue
 *   refuses it (the reason is kept on the change);
 * - `proposed` under approve-all without a reason to wait: approved automatically.
 * `queued`, `merged` and the end states are always written together with their entry, so
 * they need nothing here; the queue's own recovery settles entries in flight.
 */
export function recoverChanges(ctx: EngineContext): void {
  const { db, clock, log } = ctx;
  const stranded = db.all<{ id: string; run_id: string; task_id: string }>(
    `SELECT c.id, c.run_id, c.task_id FROM change_requests c WHERE c.status = 'approved' AND NOT EXISTS (
       SELECT 1 FROM queue_entries q WHERE q.change_id = c.id AND q.kind = 'land' AND q.state NOT IN ('failed', 'quarantined', 'rejected', 'reverted', 'superseded'))
     ORDER BY c.created_at`,
  );
  for (const c of stranded) {
    const at = clock.now();
    try {
      commitWithEvents(db, ctx.onEvent, (events) => ctx.queue.enqueue(c.id, { actor: 'system', explicitApproval: false, events }));
      log.info('queued an approved change a crash had left out of the queue', { changeId: c.id });
    } catch (e) {
      const why = `could not be queued after a restart: ${describeError(e)}`;
      commitWithEvents(db, ctx.onEvent, (events) => {
        transitionChange(db, events, { changeId: c.id, from: ['approved'], to: 'proposed', at, actor: 'system', reason: why, set: { error: why, approved_patch_hash: null } });
        transitionTask(db, events, { runId: c.run_id, taskId: c.task_id, from: ['approved'], to: 'proposed', at, reason: why });
      });
      log.warn('an approved change went back to review', { changeId: c.id, error: why });
    }
  }
  for (const c of db.all<{ id: string }>(
    `SELECT c.id FROM change_requests c JOIN runs r ON r.id = c.run_id
     WHERE c.status = 'proposed' AND r.approve = 'all' AND c.needs_explicit_approval = 0 ORDER BY c.created_at`,
  )) {
    autoApprove(ctx, c.id);
  }
}
