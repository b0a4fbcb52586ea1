import type { Clock } from '../ports';
import type { Db } from '../store/types';
import { commitWithEvents, emit, transitionTask } from './runs';
import { drivenElsewhere, runsToResume } from './runner';
import type { OnEvent } from './types';

/**
 * Call once at start-up, before `runPlan`. Runs a live loop of another process drives (see
 * runner.ts: the CLI while the editor is open, or the other way round) are left alone.
 *
 * - Every task left `running` by a dead process goes back to `ready`; its open attempt is
 *   closed as `error` / `transient` ("interrupted"), so the retry replays the model calls
 *   that had finished (from `model_calls`) instead of paying for them again.
 * - Finished tasks are never touched, so they never re-run.
 * - Runs left `running` (or `planning`) are returned in `runs` for the host to resume with
 *   `runPlan`; `paused` runs stay paused.
 *
 * Returns `requeued` as `runId/taskId` strings. All of it is one durable transaction.
 */
export function recoverRuns(db: Db, clock: Clock, onEvent?: OnEvent): { requeued: string[]; runs: string[] } {
  const at = clock.now();
  return commitWithEvents(db, onEvent, (events) => {
    const requeued: string[] = [];
    const elsewhere = new Set(
      db.all<{ id: string; runner: string | null }>('SELECT id, runner FROM runs WHERE runner IS NOT NULL').filter((r) => drivenElsewhere(r.runner)).map((r) => r.id),
    );
    const running = db
      .all<{ run_id: string; id: string }>(`SELECT run_id, id FROM tasks WHERE status = 'running' ORDER BY run_id, seq`)
      .filter((t) => !elsewhere.has(t.run_id));
    for (const t of running) {
      db.run(
        `UPDATE attempts SET status = 'error', error_category = 'transient', error = ?, finished_at = ?
         WHERE run_id = ? AND task_id = ? AND status = 'running'`,
        ['interrupted: the process stopped while the attempt was running', at, t.run_id, t.id],
      );
      if (transitionTask(db, events, { runId: t.run_id, taskId: t.id, from: ['running'], to: 'ready', at, reason: 'interrupted: requeued after a restart' })) {
        requeued.push(`${t.run_id}/${t.id}`);
      }
    }
    // Attempts can be open without a running task if the process died between writes of older versions.
    const busy = [...elsewhere];
    db.run(
      `UPDATE attempts SET status = 'error', error_category = 'transient', error = 'interrupted', finished_at = ? WHERE status = 'running' AND run_id NOT IN (${busy.map(() => '?').join(', ')})`,
      [at, ...busy],
    );
    const runs = runsToResume(db);
    if (requeued.length > 0) emit(db, events, { at, actor: 'system', kind: 'run/recovered', data: { requeued, runs } });
    return { requeued, runs };
  });
}
