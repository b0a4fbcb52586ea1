import { EngineError, isEngineError, describeError } from '../engine/errors';
import type { Logger } from '../engine/ports';

/** CLI exit codes: a public contract for scripts and CI. */
export const EXIT = { ok: 0, failure: 1, usage: 2, provider: 3 } as const;

/** Maps an error to the exit code: usage and invalid plans 2, provider and network 3. */
export function exitCodeFor(e: unknown): number {
  if (!isEngineError(e)) return EXIT.failure;
  const family = e.code.split('/')[0];
  if (family === 'usage' || family === 'plan' || family === 'request') return EXIT.usage;
  if (family === 'provider') return EXIT.provider;
  return EXIT.failure;
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
