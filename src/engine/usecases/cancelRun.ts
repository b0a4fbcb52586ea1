import { EngineError } from '../errors';
import { commitWithEvents, getTaskRows, transitionRun, transitionTask } from '../runs/runs';
import type { EngineContext } from './context';

/**
 * Cancels a run: a run executing here is aborted (its running tasks end `cancelled`); a run
 * that is not executing here has its open tasks cancelled in the store.
 */
export async function cancelRun(ctx: EngineContext, runId: string): Promise<void> {
  const active = ctx.loops.get(runId);
  if (active) {
    ctx.registry.cancelRun(runId);
    active.controller.abort(new EngineError('cancelled', 'the run was cancelled'));
    await active.done.catch(() => undefined);
    return;
  }
  const { db, clock } = ctx;
  const at = clock.now();
  commitWithEvents(db, ctx.onEvent, (events) => {
    const run = db.get<{ status: string }>('SELECT status FROM runs WHERE id = ?', [runId]);
    if (run && ['running', 'paused', 'planning'].includes(run.status)) transitionRun(db, events, runId, 'cancelled', at, { actor: 'user', reason: 'cancelled' });
    for (const t of getTaskRows(db, runId)) {
      transitionTask(db, events, { runId, taskId: t.id, from: ['pending', 'ready', 'running'], to: 'cancelled', at, actor: 'user', reason: 'the run was cancelled', error: 'the run was cancelled', finishedAt: at });
    }
  });
}
