import type * as vscode from 'vscode';
import type { Logger } from '../engine/ports';

/** Field names whose values never reach the log, whatever a caller passes. */
const SECRET_KEY = /key|token|secret|password|authorization|credential/i;
/** Strings that look like provider keys (`sk-…`, `sk-ant-…`, long bearer tokens). */
const SECRET_VALUE = /\b(sk-[A-Za-z0-9_-]{8,}|Bearer\s+[A-Za-z0-9._-]{8,})/g;

/**
 * Returns a copy of `data` that is safe to log: values under secret-looking names become
 * `[redacted]`, key-looking substrings are masked, nesting is cut at depth 4.
 */
export function redact(data: unknown, depth = 0): unknown {
  if (typeof data === 'string') return data.replace(SECRET_VALUE, '[redacted]');
  if (typeof data !== 'object' || data === null) return data;
  if (depth >= 4) return '[…]';
  if (Array.isArray(data)) return data.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) out[k] = SECRET_KEY.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

function line(msg: string, data?: Record<string, unknown>): string {
  const text = redact(msg) as string;
  if (data === undefined) return text;
  try {
    return `${text} ${JSON.stringify(redact(data))}`;
  } catch {
    return text;
  }
}

/** The engine's `Logger` over VS Code's log output channel (the user picks the level there). */
export function channelLogger(channel: vscode.LogOutputChannel): Logger {
  return {
    trace: (m, d) => channel.trace(line(m, d)),
    debug: (m, d) => channel.debug(line(m, d)),
    info: (m, d) => channel.info(line(m, d)),
    warn: (m, d) => channel.warn(line(m, d)),
    error: (m, d) => channel.error(line(m, d)),
  };
}
