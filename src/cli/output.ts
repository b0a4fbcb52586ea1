import { errorFamily } from '../engine/errorCodes';
import { EngineError, assertNever, isEngineError, describeError } from '../engine/errors';
import type { Logger } from '../engine/ports';
import { RETRY_LOG_MESSAGE } from '../engine/providers/modelClient';

/** CLI exit codes: a public contract for scripts and CI. */
export const EXIT = { ok: 0, failure: 1, usage: 2, provider: 3 } as const;

/** Maps an error to the exit code: usage and invalid plans 2, provider and network 3. */
export function exitCodeFor(e: unknown): number {
  if (!isEngineError(e)) return EXIT.failure;
  const family = errorFamily(e.code);
  switch (family) {
    case 'usage':
    case 'plan':
    case 'request':
      return EXIT.usage;
    case 'provider':
      return EXIT.provider;
    // Redis or the git remote not reachable, or refusing: a network error like a provider's.
    case 'distributed':
      return EXIT.provider;
    case 'cancelled':
    case 'agent':
    case 'git':
    case 'patch':
    case 'policy':
    case 'queue':
    case 'schedule':
    case 'store':
      return EXIT.failure;
    default:
      return assertNever(family, 'error family');
  }
}

/** One clear sentence for the terminal; never a stack trace. */
export function sentenceFor(e: unknown): string {
  if (e instanceof EngineError) {
    if (e.code === 'provider/auth') return e.message;
    if (e.code === 'cancelled') return 'Cancelled.';
    return e.message.endsWith('.') ? e.message : `${e.message}.`;
  }
  return `Unexpected error: ${describeError(e)}.`;
}

/** A logger that writes to stderr only (stdout is reserved for results and --json). */
export function stderrLogger(level: 'error' | 'warn' | 'info' | 'debug'): Logger {
  const order = ['error', 'warn', 'info', 'debug', 'trace'];
  const max = order.indexOf(level);
  const write = (lvl: string) => (msg: string, data?: Record<string, unknown>) => {
    if (order.indexOf(lvl) > max) return;
    process.stderr.write(`[${lvl}] ${msg}${data ? ' ' + JSON.stringify(data) : ''}\n`);
  };
  return { error: write('error'), warn: write('warn'), info: write('info'), debug: write('debug'), trace: write('trace') };
}

/** A retry as one line a person can read while waiting: what failed, how long until the next attempt. */
function retryLine(data: Record<string, unknown> | undefined): string {
  const d = data ?? {};
  const secs = (v: unknown) => (typeof v === 'number' ? `${(v / 1000).toFixed(1)} s` : '?');
  return `hyperion: ${String(d.provider)}:${String(d.model)} failed (${String(d.error)}); retrying in ${secs(d.delayMs)} (attempt ${String(d.attempt)} of ${String(d.maxAttempts)}, ${secs(d.leftMs)} left before the call deadline)\n`;
}

/**
 * The CLI's logger: everything at debug level with --verbose; otherwise errors, plus each
 * model-call retry as a readable progress line, so a slow or failing provider is never a
 * silent wait. Both go to stderr: stdout is reserved for results and --json.
 */
export function cliLogger(verbose: boolean): Logger {
  if (verbose) return stderrLogger('debug');
  const base = stderrLogger('error');
  const progress = (msg: string, data?: Record<string, unknown>) => {
    if (msg === RETRY_LOG_MESSAGE) process.stderr.write(retryLine(data));
  };
  return { ...base, info: progress, warn: progress };
}
