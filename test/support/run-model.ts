import type { ModelCallResult, ModelClientLike } from '../../src/engine/agents/types';
import type { Role } from '../../src/engine/config';
import { EngineError } from '../../src/engine/errors';
import type { ChatRequest } from '../../src/engine/providers/types';
import { answerFor } from './tool-answers';

/**
 * A scripted model for scheduler tests: it IS the model (the provider engineer tests the
 * real SDKs over HTTP). Answers come from a function of (task, turn), with an optional delay
 * that honours the abort signal exactly like a real provider call. Scripts are written in
 * the whole-file protocol (`finish(...)`); a request with `tools` (the tool developer) gets the
 * same answer as native tool calls (support/tool-answers.ts).
 */
export interface CallRecord {
  role: Role;
  taskId: string;
  turn: number;
  start: number;
  end?: number;
  outcome?: 'ok' | 'error' | 'cancelled';
  req: Omit<ChatRequest, 'model'>;
}

export type Reply = string | Error | { text: string; costUsd?: number; delayMs?: number };

export interface ScriptOptions {
  /** Developer answer for a task's n-th call (0-based, counted across attempts). */
  dev: (taskId: string, turn: number, req: Omit<ChatRequest, 'model'>) => Reply;
  review?: (taskId: string, req: Omit<ChatRequest, 'model'>) => Reply;
  delayMs?: number;
  costUsd?: number;
}

export function finish(summary: string, files: Record<string, string | null> = {}): string {
  const write = Object.entries(files).filter(([, c]) => c !== null).map(([path, content]) => ({ path, content }));
  const deletes = Object.entries(files).filter(([, c]) => c === null).map(([p]) => p);
  return JSON.stringify({ action: 'finish', summary, files: write, deletes });
}

export const transientError = () => new EngineError('provider/server', 'the server said 503', { details: { transient: true } });
export const permanentError = () => new EngineError('provider/bad-request', 'the request was refused', { details: { transient: false } });

export class ScriptedClient implements ModelClientLike {
  readonly calls: CallRecord[] = [];
  private turns = new Map<string, number>();
  constructor(private readonly opts: ScriptOptions) {}

  /** Calls that reached the model (role filter optional). */
  count(role?: (r: Role) => boolean): number {
    return this.calls.filter((c) => (role ? role(c.role) : true)).length;
  }

  /** The largest number of developer calls in flight at one time. */
  maxConcurrent(): number {
    const edges = this.calls.filter((c) => c.role !== 'reviewer').flatMap((c) => [[c.start, 1], [c.end ?? Infinity, -1]] as const);
    edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let cur = 0;
    let max = 0;
    for (const [, d] of edges) max = Math.max(max, (cur += d));
    return max;
  }

  /** [first start, last end] of a task's calls. */
  span(taskId: string): { start: number; end: number } {
    const cs = this.calls.filter((c) => c.taskId === taskId);
    return { start: Math.min(...cs.map((c) => c.start)), end: Math.max(...cs.map((c) => c.end ?? Infinity)) };
  }

  async chat(role: Role, req: Omit<ChatRequest, 'model'>): Promise<ModelCallResult> {
    const taskId = req.tags?.taskId ?? '?';
    let reply: Reply;
    let turn = 0;
    if (role === 'reviewer') reply = this.opts.review ? this.opts.review(taskId, req) : JSON.stringify({ verdict: 'approve', comments: 'looks right' });
    else {
      turn = this.turns.get(taskId) ?? 0;
      this.turns.set(taskId, turn + 1);
      reply = this.opts.dev(taskId, turn, req);
    }
    const rec: CallRecord = { role, taskId, turn, start: performance.now(), req };
    this.calls.push(rec);
    const delay = typeof reply === 'object' && !(reply instanceof Error) ? (reply.delayMs ?? this.opts.delayMs ?? 0) : (this.opts.delayMs ?? 0);
    try {
      await new Promise<void>((resolve, reject) => {
        const sig = req.signal;
        if (sig?.aborted) return reject(new EngineError('cancelled', 'cancelled'));
        const t = setTimeout(() => {
          sig?.removeEventListener('abort', onAbort);
          resolve();
        }, delay);
        const onAbort = () => {
          clearTimeout(t);
          reject(new EngineError('cancelled', 'cancelled'));
        };
        sig?.addEventListener('abort', onAbort, { once: true });
      });
    } catch (e) {
      rec.end = performance.now();
      rec.outcome = 'cancelled';
      throw e;
    }
    rec.end = performance.now();
    if (reply instanceof Error) {
      rec.outcome = 'error';
      throw reply;
    }
    rec.outcome = 'ok';
    const text = typeof reply === 'string' ? reply : reply.text;
    const answer = role === 'reviewer' ? { text } : answerFor(req, text);
    const costUsd = typeof reply === 'object' ? (reply.costUsd ?? this.opts.costUsd ?? 0.001) : (this.opts.costUsd ?? 0.001);
    return {
      ...answer,
      usage: { inputTokens: 100, outputTokens: 20 },
      model: 'scripted-1',
      provider: 'recorded',
      costUsd,
      durationMs: delay,
      ref: { provider: 'recorded', model: 'scripted-1' },
      cached: false,
    };
  }
}
