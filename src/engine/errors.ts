/**
 * Errors are values with a stable code. The engine never turns them into UI sentences;
 * the CLI and the extension map codes to text and actions.
 *
 * Code families (prefix before the slash):
 * - `usage/…`     bad input from the user or a file (CLI exit 2)
 * - `plan/…`      a plan failed validation or stayed invalid after repair (CLI exit 2)
 * - `provider/…`  model provider or network fault (CLI exit 3)
 * - `patch/…`, `policy/…` a change request broke a rule
 * - `git/…`, `queue/…`, `store/…`, `cancelled`
 * Every code is in `ERROR_TITLES` (errorCodes.ts); the compiler refuses any other.
 */
import type { ErrorCode } from './errorCodes';

export class EngineError extends Error {
  override readonly name = 'EngineError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.details = options?.details;
  }
  readonly details: Record<string, unknown> | undefined;

  /** Narrows `e` to an EngineError with exactly `code`. */
  static is<C extends ErrorCode>(e: unknown, code: C): e is EngineError & { readonly code: C } {
    return e instanceof EngineError && e.code === code;
  }
}

export function isEngineError(e: unknown, codePrefix?: string): e is EngineError {
  return e instanceof EngineError && (codePrefix === undefined || e.code.startsWith(codePrefix));
}

/** Exhaustiveness guard for switches over unions. */
export function assertNever(x: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(x)}`);
}

/** Throws `cancelled` when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new EngineError('cancelled', 'the operation was cancelled', { cause: signal.reason });
}

/** A short, single-line description of any thrown value, for logs and stored error fields. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n')[0] ?? e.name;
  return String(e);
}
