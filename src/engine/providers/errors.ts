import { EngineError, isEngineError } from '../errors';
import type { ProviderKind } from './types';

/**
 * Provider error codes. Every provider throws only these (or `cancelled`), with
 * `details.transient` (retrying the same call may succeed) and, for rate limits,
 * `details.retryAfterMs` (what the server asked us to wait).
 */
export type ProviderErrorCode =
  | 'provider/rate-limited'
  | 'provider/server'
  | 'provider/timeout'
  | 'provider/network'
  | 'provider/auth'
  | 'provider/bad-request'
  | 'provider/no-recording';

const TRANSIENT: Record<ProviderErrorCode, boolean> = {
  'provider/rate-limited': true,
  'provider/server': true,
  'provider/timeout': true,
  'provider/network': true,
  'provider/auth': false,
  'provider/bad-request': false,
  'provider/no-recording': false,
};

export function providerError(
  code: ProviderErrorCode,
  message: string,
  extra: { cause?: unknown; status?: number; retryAfterMs?: number; provider?: ProviderKind } = {},
): EngineError {
  const details: Record<string, unknown> = { transient: TRANSIENT[code] };
  if (extra.status !== undefined) details.status = extra.status;
  if (extra.retryAfterMs !== undefined) details.retryAfterMs = extra.retryAfterMs;
  if (extra.provider !== undefined) details.provider = extra.provider;
  return new EngineError(code, message, { cause: extra.cause, details });
}

/** True when retrying the same call may succeed. `cancelled` and unknown errors are not transient. */
export function isTransient(e: unknown): boolean {
  return isEngineError(e) && e.details?.transient === true;
}

export function retryAfterOf(e: unknown): number | undefined {
  if (!isEngineError(e)) return undefined;
  const v = e.details?.retryAfterMs;
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** Reads `retry-after-ms` (ms) or `retry-after` (seconds or an HTTP date). */
export function parseRetryAfter(headers: { get(name: string): string | null } | undefined, now = Date.now()): number | undefined {
  if (!headers || typeof headers.get !== 'function') return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const ra = headers.get('retry-after');
  if (ra === null || ra.trim() === '') return undefined;
  if (Number.isFinite(Number(ra))) return Math.max(0, Number(ra) * 1000);
  const date = Date.parse(ra);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Where the user sets the key for each provider; named in auth errors (the key itself never is). */
export function keyHint(provider: ProviderKind): string {
  switch (provider) {
    case 'openai':
      return 'set the OpenAI API key (command "Hyperion: Set API Key" → openai, or the OPENAI_API_KEY environment variable)';
    case 'anthropic':
      return 'set the Anthropic API key (command "Hyperion: Set API Key" → anthropic, or the ANTHROPIC_API_KEY environment variable)';
    case 'openai-compatible':
      return 'set the key for the OpenAI-compatible server (command "Hyperion: Set API Key" → openai-compatible) or check the server\'s base URL';
    case 'vscode-lm':
      return 'allow Hyperion to use the VS Code language model (accept the consent prompt)';
    case 'recorded':
      return 'recorded responses need no key';
  }
}

export interface ClassifyContext {
  provider: ProviderKind;
  /** Our own per-call timer fired (the SDK reports that as a user abort). */
  timedOut: boolean;
  timeoutMs: number;
  /** The caller's signal fired. */
  cancelled: boolean;
  cancelReason?: unknown;
}

interface SdkLikeError {
  status?: unknown;
  headers?: { get(name: string): string | null };
  message?: unknown;
  name?: unknown;
  constructor?: { name?: string };
  cause?: unknown;
  code?: unknown;
}

function sdkClassName(e: SdkLikeError): string {
  return (typeof e.constructor?.name === 'string' ? e.constructor.name : '') || (typeof e.name === 'string' ? e.name : '');
}

/** Server messages are useful for 400s but may quote request data; keep them to one short line. */
function shortServerMessage(e: SdkLikeError): string {
  const m = typeof e.message === 'string' ? e.message.split('\n')[0] : '';
  return m.length > 300 ? `${m.slice(0, 300)}…` : m;
}

/**
 * Maps anything an SDK, fetch or our own stream handling throws to an EngineError with a
 * `provider/…` code or `cancelled`. EngineErrors pass through unchanged. Auth messages
 * never include the server's text, because some servers echo part of the key back.
 */
export function classifyProviderError(e: unknown, ctx: ClassifyContext): EngineError {
  if (ctx.cancelled) return new EngineError('cancelled', 'the model call was cancelled', { cause: ctx.cancelReason ?? e });
  if (ctx.timedOut) return providerError('provider/timeout', `${ctx.provider} did not answer within ${ctx.timeoutMs} ms`, { cause: e, provider: ctx.provider });
  if (isEngineError(e)) return e;
  const err = (typeof e === 'object' && e !== null ? e : {}) as SdkLikeError;
  const cls = sdkClassName(err);
  const status = typeof err.status === 'number' ? err.status : undefined;
  const p = ctx.provider;
  if (status !== undefined) {
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(err.headers);
      return providerError('provider/rate-limited', `${p} rate-limited the request (HTTP 429)${retryAfterMs !== undefined ? `; retry after ${retryAfterMs} ms` : ''}`, { cause: e, status, retryAfterMs, provider: p });
    }
    if (status === 401 || status === 403) {
      return providerError('provider/auth', `${p} refused the credentials (HTTP ${status}): ${keyHint(p)}`, { status, provider: p });
    }
    if (status === 408) return providerError('provider/timeout', `${p} timed out the request (HTTP 408)`, { cause: e, status, provider: p });
    if (status >= 500) return providerError('provider/server', `${p} server error (HTTP ${status}): ${shortServerMessage(err)}`, { cause: e, status, provider: p });
    return providerError('provider/bad-request', `${p} rejected the request (HTTP ${status}): ${shortServerMessage(err)}`, { cause: e, status, provider: p });
  }
  if (cls.includes('Timeout')) return providerError('provider/timeout', `${p} did not answer in time`, { cause: e, provider: p });
  if (cls.includes('UserAbort') || cls === 'AbortError') {
    // An abort we did not ask for (neither our timer nor the caller): treat as a dropped connection.
    return providerError('provider/network', `${p} connection was aborted`, { cause: e, provider: p });
  }
  if (cls === 'TypeError' && shortServerMessage(err) === 'terminated') {
    // undici's way of saying the socket closed while the body was being read: the server was
    // reached, so "could not reach" would send the user to check a URL that works.
    return providerError('provider/network', `${p} closed the connection before the answer was complete`, { cause: e, provider: p });
  }
  if (cls.includes('Connection') || cls === 'TypeError' || typeof err.code === 'string') {
    return providerError('provider/network', `could not reach ${p}: ${shortServerMessage(err) || 'connection failed'}`, { cause: e, provider: p });
  }
  if (cls === 'SyntaxError') return providerError('provider/network', `${p} sent a malformed response: ${shortServerMessage(err)}`, { cause: e, provider: p });
  // An APIError without a status comes from an error event inside a stream.
  if (cls.includes('APIError')) return providerError('provider/server', `${p} reported an error mid-stream: ${shortServerMessage(err)}`, { cause: e, provider: p });
  return providerError('provider/network', `${p} call failed: ${shortServerMessage(err) || String(e)}`, { cause: e, provider: p });
}
