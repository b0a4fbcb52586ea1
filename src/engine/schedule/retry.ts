import { EngineError, isEngineError } from '../errors';

/** Why an attempt ended, stored on its `attempts` row. */
export type ErrorCategory = 'transient' | 'model-output' | 'permanent' | 'cancelled';

/** Why the scheduler aborted a task's signal. */
export type StopKind = 'timeout' | 'cancelled' | 'run-cancelled' | 'skipped';

export class TaskStop extends Error {
  constructor(readonly kind: StopKind, message: string) {
    super(message);
  }
}

/**
 * Maps a thrown value to a category: `cancelled` for cancellation, `transient` for provider
 * errors marked transient (and task timeouts), `model-output` for unusable model answers,
 * `permanent` for everything else (bad requests, auth, git failures, bugs).
 */
export function categorize(e: unknown): ErrorCategory {
  if (isEngineError(e, 'cancelled')) return 'cancelled';
  if (isEngineError(e) && e.details?.transient === true) return 'transient';
  if (isEngineError(e, 'task/timeout')) return 'transient';
  if (isEngineError(e, 'agent/model-output')) return 'model-output';
  return 'permanent';
}

export interface BackoffOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  random?: () => number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseDelayMs: 1000, maxDelayMs: 30_000 };

/** Exponential backoff with jitter: base·2^n, capped, then scaled by [0.5, 1). */
export function backoffDelay(retry: number, opts: BackoffOptions, retryAfterMs?: number): number {
  const exp = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** retry);
  const jittered = exp * (0.5 + 0.5 * (opts.random ?? Math.random)());
  return Math.max(jittered, retryAfterMs ?? 0);
}

/** Resolves after `ms`, or rejects with `cancelled` as soon as `signal` fires. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new EngineError('cancelled', 'cancelled while waiting to retry', { cause: signal.reason }));
    const onAbort = () => {
      clearTimeout(t);
      reject(new EngineError('cancelled', 'cancelled while waiting to retry', { cause: signal.reason }));
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
