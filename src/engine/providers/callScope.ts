import { EngineError } from '../errors';
import type { Logger } from '../ports';
import { classifyProviderError } from './errors';
import type { ProviderKind } from './types';

/**
 * One model call's lifetime: a signal that fires when the caller cancels or when the call's
 * own timeout passes (covering the whole call, including reading a streamed body — the SDKs'
 * timeouts stop at the response headers). `fail(e)` turns whatever was thrown into the right
 * EngineError; `dispose()` must be called in `finally`.
 */
export interface CallScope {
  readonly signal: AbortSignal;
  /** Throws `cancelled` or `provider/timeout` when the scope has ended; use after a stream ends quietly. */
  throwIfEnded(): void;
  fail(e: unknown): EngineError;
  dispose(): void;
}

/** setTimeout fires at once for delays above 2^31-1 ms; longer timeouts are clamped to ~24.8 days. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function openCallScope(provider: ProviderKind, timeoutMs: number, parent?: AbortSignal): CallScope {
  const ctrl = new AbortController();
  let timedOut = false;
  const onParentAbort = () => ctrl.abort(parent?.reason);
  if (parent?.aborted) ctrl.abort(parent.reason);
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  const timer = setTimeout(() => {
    timedOut = true;
    ctrl.abort(new EngineError('provider/timeout', `${provider} timed out`));
  }, Math.min(Math.max(0, timeoutMs), MAX_TIMER_MS));
  const ctx = () => ({ provider, timedOut: timedOut && !parent?.aborted, timeoutMs, cancelled: parent?.aborted === true, cancelReason: parent?.reason });
  return {
    signal: ctrl.signal,
    throwIfEnded() {
      if (ctrl.signal.aborted) throw classifyProviderError(ctrl.signal.reason, ctx());
    },
    fail: (e) => classifyProviderError(e, ctx()),
    dispose() {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}

/**
 * The SDKs log to `console` by default (e.g. "Could not parse message into JSON"). Route their
 * messages to our logger at debug level; the thrown error is what callers act on. Only the
 * message string is kept: the extra arguments can hold request details.
 */
export function sdkLogger(log: Logger, sdk: string): { error: SdkLogFn; warn: SdkLogFn; info: SdkLogFn; debug: SdkLogFn } {
  const fn: SdkLogFn = (message) => log.debug(`${sdk} sdk: ${message}`);
  return { error: fn, warn: fn, info: fn, debug: fn };
}
type SdkLogFn = (message: string, ...rest: unknown[]) => void;

/**
 * The SDK's own timeout (it only covers waiting for response headers). Set well past ours so
 * the call scope, which also covers the streamed body, is what normally ends a slow call.
 */
export function sdkTimeout(req: { timeoutMs?: number }, defaultMs: number): number {
  return Math.min(Math.max(req.timeoutMs ?? defaultMs, 1000) * 2, MAX_TIMER_MS);
}
