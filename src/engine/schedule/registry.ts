import { TaskStop, type StopKind } from './retry';

/**
 * The runs one engine is executing right now, so `cancelTask`, `cancelRun` and
 * `skipDependents` can reach their in-flight model calls. Owned by the engine that created
 * it (never module-global: two engines in one process keep their runs apart); a run
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

export class RunRegistry {
  private readonly active = new Map<string, ActiveRun>();

  /** Registers `run`; the returned function unregisters it (only if it is still the one registered). */
  register(run: ActiveRun): () => void {
    this.active.set(run.runId, run);
    return () => {
      if (this.active.get(run.runId) === run) this.active.delete(run.runId);
    };
  }

  get(runId: string): ActiveRun | undefined {
    return this.active.get(runId);
  }

  /** Aborts a running task's model calls with `kind`. False when it is not running here. */
  stopTask(runId: string, taskId: string, kind: StopKind, message: string): boolean {
    const c = this.active.get(runId)?.tasks.get(taskId);
    if (!c || c.signal.aborted) return false;
    c.abort(new TaskStop(kind, message));
    return true;
  }

  /**
   * Cancels one task of a run executing here: a running task's model calls are aborted and it
   * ends `cancelled`; a pending/ready one becomes `cancelled` at once. Its dependents are then
   * skipped. False when the run is not executing here or the task is already settled.
   */
  cancelTask(runId: string, taskId: string): boolean {
    if (this.stopTask(runId, taskId, 'cancelled', 'the task was cancelled')) return true;
    return this.active.get(runId)?.cancelQueued(taskId) ?? false;
  }

  /** Cancels a run executing here (same effect as aborting its `signal`). False when it is not executing here. */
  cancelRun(runId: string): boolean {
    const r = this.active.get(runId);
    if (!r) return false;
    if (!r.controller.signal.aborted) r.controller.abort(new TaskStop('run-cancelled', 'the run was cancelled'));
    return true;
  }
}
