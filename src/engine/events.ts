import type { Db } from './store/types';

export type Actor = 'user' | 'agent' | 'queue' | 'planner' | 'system';

/** One row of the append-only audit log, and the payload of live UI notifications. */
export interface EngineEvent {
  at: number;
  actor: Actor;
  /** `noun/verb` style, e.g. `task/state`, `change/proposed`, `queue/state`, `run/state`. */
  kind: string;
  runId?: string;
  taskId?: string;
  subjectId?: string;
  from?: string;
  to?: string;
  reason?: string;
  data?: Record<string, unknown>;
}

type Listener<T> = (e: T) => void;

/** A minimal typed emitter, VS Code style: `event(listener)` returns a disposable. */
export class Emitter<T> {
  private listeners = new Set<Listener<T>>();
  readonly event = (listener: Listener<T>): { dispose(): void } => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };
  fire(e: T): void {
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch {
        // A faulty listener must not break the engine or other listeners.
      }
    }
  }
  dispose(): void {
    this.listeners.clear();
  }
}

/**
 * Appends an event to the audit log. Call inside the same `db.transaction` as the state
 * change it describes so that the log and the state never disagree.
 */
export function appendEvent(db: Db, e: EngineEvent): void {
  db.run(
    `INSERT INTO events (at, actor, kind, run_id, task_id, subject_id, from_state, to_state, reason, data_json)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      e.at,
      e.actor,
      e.kind,
      e.runId ?? null,
      e.taskId ?? null,
      e.subjectId ?? null,
      e.from ?? null,
      e.to ?? null,
      e.reason ?? null,
      e.data === undefined ? null : JSON.stringify(e.data),
    ],
  );
}
