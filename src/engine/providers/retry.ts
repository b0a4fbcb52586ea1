import { EngineError } from '../errors';
import { isTransient, retryAfterOf } from './errors';

/** Waits `ms` or rejects with `cancelled` as soon as the signal fires. Injectable for tests. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(new EngineError('cancelled', 'the operation was cancelled', { cause: signal.reason }));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new EngineError('cancelled', 'the operation was cancelled', { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export interface RetryOptions {
  /** Retries after the first attempt (0 = one attempt only). */
  maxRetries: number;
  /** First backoff ceiling; doubles each retry. Default 500 ms. */
  baseDelayMs?: number;
  /** Cap on any single wait, including a server's retry-after. Default 30 s. */
  maxDelayMs?: number;
  signal?: AbortSignal;
  sleep?: Sleep;
  /** Returns [0, 1). Default Math.random. */
  random?: () => number;
  /** Called before each backoff sleep (for logs). */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  /**
   * When the whole call must end (ms on `now`'s scale). A retry whose backoff would end at or
   * after it is not made: the last error is rethrown with `details.deadline = true`.
   */
  deadlineAt?: number;
  /** Default Date.now; the scale of `deadlineAt`. */
  now?: () => number;
}

/**
 * Backoff before retry number `attempt` (1-based): "full jitter", a uniform draw in
 * [0, min(cap, base·2^(attempt-1))]. A server's retry-after is a floor (we never come back
 * sooner than asked), still capped so one bad header cannot stall a run.
 */
export function backoffDelay(attempt: number, opts: { baseDelayMs: number; maxDelayMs: number; retryAfterMs?: number; random: () => number }): number {
  const ceiling = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.floor(opts.random() * ceiling);
  if (opts.retryAfterMs === undefined) return jittered;
  return Math.min(opts.maxDelayMs, Math.max(opts.retryAfterMs, jittered));
}

/**
 * Runs `fn` and retries it while it throws transient errors (see providers/errors.ts),
 * up to `maxRetries` times, and never past `deadlineAt`. Permanent errors and `cancelled` are
 * rethrown at once; after the last retry the last error is rethrown with `details.attempts` added. A fired signal stops a
 * pending backoff sleep immediately (the attempt itself must honour the signal it is given).
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const sleep = opts.sleep ?? realSleep;
  const random = opts.random ?? Math.random;
  const baseDelayMs = opts.baseDelayMs ?? 500;
  const maxDelayMs = opts.maxDelayMs ?? 30_000;
  for (let attempt = 0; ; attempt++) {
    if (opts.signal?.aborted) throw new EngineError('cancelled', 'the operation was cancelled', { cause: opts.signal.reason });
    try {
      return await fn(attempt);
    } catch (e) {
      if (!isTransient(e) || attempt >= opts.maxRetries) {
        if (e instanceof EngineError && e.details) e.details.attempts = attempt + 1;
        throw e;
      }
      const delayMs = backoffDelay(attempt + 1, { baseDelayMs, maxDelayMs, retryAfterMs: retryAfterOf(e), random });
      if (opts.deadlineAt !== undefined && (opts.now ?? Date.now)() + delayMs >= opts.deadlineAt) {
        if (e instanceof EngineError) {
          if (e.details) e.details.attempts = attempt + 1;
          if (e.details) e.details.deadline = true;
        }
        throw e;
      }
      opts.onRetry?.({ attempt: attempt + 1, delayMs, error: e });
      await sleep(delayMs, opts.signal);
    }
  }
}
