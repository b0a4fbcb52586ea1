import { TaskStop, type StopKind } from './retry';

/**
 * The runs this process is executing right now, so `cancelTask`, `cancelRun` and
 * `skipDependents` can reach their in-flight model calls. Process-local by nature: a run
 * executing in another process is only visible through the database.
 */
export interface ActiveRun {
  readonly runId: string;
  readonly controller: AbortController;
  /** One controller per running task. */
  readonly tasks: Map<string, AbortController>;
  /** Cancels a task that is not running yet (pending/ready) in the database; set by the scheduler. */
  cancelQueued(taskId: string): boolean;
}

const active = new Map<string, ActiveRun>();

export function registerRun(run: ActiveRun): () => void {
  active.set(run.runId, run);
  return () => {
    if (active.get(run.runId) === run) active.delete(run.runId);
  };
}

export function activeRun(runId: string): ActiveRun | undefined {
  return active.get(runId);
}

export function stopTask(runId: string, taskId: string, kind: StopKind, message: string): boolean {
  const c = active.get(runId)?.tasks.get(taskId);
  if (!c || c.signal.aborted) return false;
  c.abort(new TaskStop(kind, message));
  return true;
}

/**
 * Cancels one task of a run executing in this process: a running task's model calls are
 * aborted and it ends `cancelled`; a pending/ready one becomes `cancelled` at once. Its
 * dependents are then skipped. Returns false when the run is not executing here or the
 * task is already settled.
 */
export function cancelTask(runId: string, taskId: string): boolean {
  if (stopTask(runId, taskId, 'cancelled', 'the task was cancelled')) return true;
  return active.get(runId)?.cancelQueued(taskId) ?? false;
}

/**
 * Cancels a run executing in this process (same effect as aborting the `signal` given to
 * `runPlan`). Returns false when it is not executing here.
 */
export function cancelRun(runId: string): boolean {
  const r = active.get(runId);
  if (!r) return false;
  if (!r.controller.signal.aborted) r.controller.abort(new TaskStop('run-cancelled', 'the run was cancelled'));
  return true;
}
