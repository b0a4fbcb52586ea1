import type { Role } from '../config';
import type { ModelClientLike } from '../agents/types';

/**
 * Where a task's time went, as the engine itself saw it: the benchmarks read these to split a
 * task's wall time into model calls and engine time, so the split does not depend on guessing
 * from outside. Times are `performance.now()` ms (monotonic, this process only).
 *
 * - `task`: from the moment the task runner starts (the attempt is already open) until the
 *   task is settled and, for a proposed change, `onChangeProposed` (automatic approval and
 *   enqueueing) has returned. One per attempt.
 * - `model`: one provider call (the SDK request and the wait for the answer), not the
 *   engine's own bookkeeping around it (the model-call cache lookup and its durable record).
 */
export interface TaskSpan {
  kind: 'task' | 'model';
  runId: string;
  taskId: string;
  /** For `model` spans: the role the call was made for (a task type, or `reviewer`). */
  role?: Role;
  start: number;
  end: number;
}

export type OnTaskSpan = (span: TaskSpan) => void;

/** Wraps `client` so each call reports a `model` span; `client` itself when nobody listens. */
export function timedClient(client: ModelClientLike, onSpan: OnTaskSpan | undefined, scope: { runId: string; taskId: string }): ModelClientLike {
  if (!onSpan) return client;
  return {
    async chat(role, req) {
      const start = performance.now();
      try {
        return await client.chat(role, req);
      } finally {
        report(onSpan, { kind: 'model', ...scope, role, start, end: performance.now() });
      }
    },
  };
}

/** A listener that throws must not fail the task it measures. */
export function report(onSpan: OnTaskSpan | undefined, span: TaskSpan): void {
  try {
    onSpan?.(span);
  } catch {
    // measurement only
  }
}
