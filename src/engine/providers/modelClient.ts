import { createHash } from 'node:crypto';
import type { EngineConfig, ModelRef, Role } from '../config';
import { EngineError, describeError, isEngineError } from '../errors';
import type { Clock, Logger } from '../ports';
import { systemClock } from '../ports';
import { keyHint, providerError } from './errors';
import { withRetry, type Sleep } from './retry';
import { routeFor, type ProviderRegistry } from './router';
import type { ChatRequest, ChatResponse, TokenUsage } from './types';

export type ModelCallResult = ChatResponse & {
  /** USD actually spent by this call (0 on a cache hit: it was paid for before). */
  costUsd: number;
  durationMs: number;
  ref: ModelRef;
  cached: boolean;
};

/** One row per model call (per route entry tried, retries included), for audit and cost. */
export interface ModelCallRecord {
  role: Role;
  ref: ModelRef;
  ok: boolean;
  cached: boolean;
  cacheKey: string;
  attempts: number;
  durationMs: number;
  usage: TokenUsage;
  costUsd: number;
  error?: { code: string; message: string };
  tags?: ChatRequest['tags'];
  at: number;
}

/** A durable store of finished calls, so a resumed run never pays for the same call twice. */
export interface ModelCallCache {
  get(key: string): ModelCallResult | undefined;
  put(key: string, result: ModelCallResult): void;
}

/** The log message of each retry (info level, with role, model, attempt, delayMs, leftMs, error); hosts may show it as progress. */
export const RETRY_LOG_MESSAGE = 'retrying model call';

/** setTimeout fires at once for delays above 2^31-1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface ModelClient {
  /**
   * Sends the request to the role's route, in order. Transient failures are retried with
   * backoff (config.maxRetries); a permanent failure or exhausted retries moves on to the next
   * ModelRef. The whole call, retries and fallbacks included, ends by `config.callDeadlineMs`:
   * then it throws `provider/timeout` (transient) naming the deadline. Throws `cancelled` as
   * soon as the signal fires (no fallback after a cancel), or the last route entry's error when
   * every entry failed (its message lists each failure). A missing key is `provider/auth`
   * naming the role's route (which provider the call would use).
   */
  chat(role: Role, req: Omit<ChatRequest, 'model'>): Promise<ModelCallResult>;
}

export interface ModelClientDeps {
  registry: ProviderRegistry;
  config: EngineConfig;
  log: Logger;
  onCall?: (record: ModelCallRecord) => void;
  cache?: ModelCallCache;
  clock?: Clock;
  /** Backoff tuning and injection points for tests. */
  retry?: { sleep?: Sleep; random?: () => number; baseDelayMs?: number; maxDelayMs?: number };
}

/** USD for a usage under `config.prices` (`provider:model` first, then `model`); 0 when unpriced. */
export function computeCost(config: EngineConfig, ref: ModelRef, usage: TokenUsage, answeredModel?: string): number {
  const p =
    config.prices[`${ref.provider}:${ref.model}`] ??
    config.prices[ref.model] ??
    (answeredModel ? (config.prices[`${ref.provider}:${answeredModel}`] ?? config.prices[answeredModel]) : undefined);
  if (!p) return 0;
  return (usage.inputTokens * p.input + usage.outputTokens * p.output) / 1_000_000;
}

/** Deterministic JSON: object keys sorted, so equal requests hash equally. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** Stable key of (role, provider, model, messages, json schema). Tags and signals do not count. */
export function modelCallKey(role: Role, ref: ModelRef, req: Pick<ChatRequest, 'messages' | 'json' | 'tools'>): string {
  // Tool fields only when present, so keys of tool-free calls stay what they were.
  const payload = canonical({
    role, provider: ref.provider, model: ref.model,
    messages: req.messages.map((m) => ({ role: m.role, content: m.content, toolCalls: m.toolCalls, toolResults: m.toolResults })),
    json: req.json ?? null, tools: req.tools,
  });
  return createHash('sha256').update(payload).digest('hex');
}

export function createModelClient(deps: ModelClientDeps): ModelClient {
  const clock = deps.clock ?? systemClock;
  const { config, log } = deps;
  const report = (r: ModelCallRecord) => {
    try {
      deps.onCall?.(r);
    } catch (e) {
      log.warn('onCall hook failed', { error: describeError(e) });
    }
  };

  /** The provider of a route entry; a missing key names the route that needed it. */
  const getProvider = async (role: Role, ref: ModelRef) => {
    try {
      return await deps.registry.get(ref.provider);
    } catch (e) {
      if (!isEngineError(e, 'provider/auth')) throw e;
      throw providerError('provider/auth', `no key for ${ref.provider} (route ${role} → ${ref.provider}:${ref.model}): ${keyHint(ref.provider)}`, { cause: e, provider: ref.provider });
    }
  };

  return {
    async chat(role, req) {
      const route = routeFor(config, role);
      const keys = route.map((ref) => modelCallKey(role, ref, req));
      if (deps.cache) {
        for (let i = 0; i < route.length; i++) {
          const hit = deps.cache.get(keys[i]);
          if (hit) {
            const result: ModelCallResult = { ...hit, ref: route[i], cached: true, costUsd: 0, durationMs: 0 };
            report({ role, ref: route[i], ok: true, cached: true, cacheKey: keys[i], attempts: 0, durationMs: 0, usage: hit.usage, costUsd: 0, tags: req.tags, at: clock.now() });
            return result;
          }
        }
      }
      const failures: string[] = [];
      let lastError: unknown;
      // One deadline for the whole call: it aborts a hung attempt and a pending backoff alike.
      const deadlineMs = config.callDeadlineMs;
      const endsAt = Date.now() + deadlineMs;
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(new EngineError('provider/timeout', 'the call deadline passed')), Math.min(deadlineMs, MAX_TIMER_MS));
      const signal = req.signal ? AbortSignal.any([req.signal, deadline.signal]) : deadline.signal;
      const pastDeadline = (e: unknown) => !req.signal?.aborted && (deadline.signal.aborted || (isEngineError(e) && e.details?.deadline === true));
      try {
        for (let i = 0; i < route.length; i++) {
          const ref = route[i];
          const started = clock.now();
          let attempts = 0;
          try {
            const provider = await getProvider(role, ref);
            const res = await withRetry(
              (attempt) => {
                attempts = attempt + 1;
                const timeoutMs = Math.max(1, Math.min(req.timeoutMs ?? config.timeoutMs, endsAt - Date.now()));
                return provider.chat({ ...req, signal, model: ref.model, timeoutMs, tags: { ...req.tags, attempt: req.tags?.attempt ?? attempt } });
              },
              {
                maxRetries: config.maxRetries,
                signal,
                sleep: deps.retry?.sleep,
                random: deps.retry?.random,
                baseDelayMs: deps.retry?.baseDelayMs,
                maxDelayMs: deps.retry?.maxDelayMs,
                deadlineAt: endsAt,
                onRetry: ({ attempt, delayMs, error }) =>
                  log.info(RETRY_LOG_MESSAGE, { role, provider: ref.provider, model: ref.model, attempt: attempt + 1, maxAttempts: config.maxRetries + 1, delayMs, leftMs: Math.max(0, endsAt - Date.now()), error: describeError(error) }),
              },
            );
            const durationMs = clock.now() - started;
            const costUsd = computeCost(config, ref, res.usage, res.model);
            const result: ModelCallResult = { ...res, costUsd, durationMs, ref, cached: false };
            report({ role, ref, ok: true, cached: false, cacheKey: keys[i], attempts, durationMs, usage: res.usage, costUsd, tags: req.tags, at: clock.now() });
            try {
              deps.cache?.put(keys[i], result);
            } catch (e) {
              // The answer is paid for and in hand; a cache write failure must not throw it away.
              log.warn('could not cache a model call', { role, error: describeError(e) });
            }
            return result;
          } catch (e) {
            const durationMs = clock.now() - started;
            const failure = pastDeadline(e)
              ? providerError('provider/timeout', `no answer from ${ref.provider}:${ref.model} for ${role} within the call deadline of ${formatSeconds(deadlineMs)} (callDeadlineMs; ${attempts} attempt(s), retries included; last: ${describeError(e)})`, { cause: e, provider: ref.provider })
              : e;
            const code = isEngineError(failure) ? failure.code : 'provider/unknown';
            report({ role, ref, ok: false, cached: false, cacheKey: keys[i], attempts, durationMs, usage: { inputTokens: 0, outputTokens: 0 }, costUsd: 0, error: { code, message: describeError(failure) }, tags: req.tags, at: clock.now() });
            if (req.signal?.aborted || isEngineError(failure, 'cancelled')) {
              throw isEngineError(failure, 'cancelled') ? failure : new EngineError('cancelled', 'the model call was cancelled', { cause: failure });
            }
            // No fallback after the deadline: the caller was promised an answer or an error by then.
            if (failure !== e) throw failure;
            failures.push(`${ref.provider}:${ref.model}: ${describeError(e)}`);
            lastError = e;
            if (i < route.length - 1) log.warn('model failed; trying the next one in the route', { role, provider: ref.provider, model: ref.model, code });
          }
        }
      } finally {
        clearTimeout(timer);
      }
      if (route.length <= 1 && isEngineError(lastError)) throw lastError;
      const code = isEngineError(lastError) ? lastError.code : 'provider/network';
      throw new EngineError(code, `every model for ${role} failed: ${failures.join('; ')}`, {
        cause: lastError,
        details: { ...(isEngineError(lastError) ? lastError.details : {}), transient: false, failures },
      });
    },
  };
}

/** "2 s", "1.5 s", "120 s": deadlines are configured in ms but read in seconds. */
function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(ms < 10_000 ? 1 : 0))} s`;
}
