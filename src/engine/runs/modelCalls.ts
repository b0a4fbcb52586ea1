import { createHash } from 'node:crypto';
import type { Role } from '../config';
import type { EngineEvent } from '../events';
import type { Clock } from '../ports';
import type { ChatRequest, ProviderKind, ToolCall } from '../providers/types';
import type { Db } from '../store/types';
import type { ModelCallResult, ModelClientLike } from '../agents/types';
import { commitWithEvents, emit } from './runs';
import type { OnEvent } from './types';

/**
 * Durable model-call cache on the `model_calls` table: a finished call is stored (response,
 * tokens, cost) in the same transaction that adds its cost to the run, so after a crash the
 * same request is answered from the table and never paid for twice.
 */

export interface ModelCallScope {
  runId?: string;
  taskId?: string;
  /**
   * Bumped when a task is re-run after a model-output or permanent failure, or after the user
   * set its change aside (rejected, then retried), so a retry asks the model afresh instead of
   * replaying the answers that failed. Interrupted attempts keep
   * the generation, so recovery replays what was already paid for.
   */
  generation?: number;
}

/** Stable hash of everything that determines a model's answer (not the signal, timeout or attempt tag). */
export function modelCallKey(scope: ModelCallScope, role: string, req: Omit<ChatRequest, 'model'>): string {
  const stable = {
    v: 1,
    runId: scope.runId ?? null,
    taskId: scope.taskId ?? null,
    generation: scope.generation ?? 0,
    role,
    messages: req.messages.map((m) => (m.toolCalls || m.toolResults ? [m.role, m.content, m.toolCalls ?? null, m.toolResults ?? null] : [m.role, m.content])),
    json: req.json ?? null,
    maxTokens: req.maxTokens ?? null,
    temperature: req.temperature ?? null,
    // Only when offered, so keys of tool-free calls stay what they were.
    ...(req.tools ? { tools: req.tools } : {}),
  };
  return createHash('sha256').update(JSON.stringify(stable)).digest('hex');
}

interface ModelCallRow {
  [k: string]: string | number | null | Uint8Array;
  provider: string;
  model: string;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  response_text: string;
  duration_ms: number | null;
  tool_calls_json: string | null;
}

/** The stored answer for `key`, marked `cached: true` with zero cost (it was paid for once). */
export function lookupModelCall(db: Db, key: string): ModelCallResult | undefined {
  const r = db.get<ModelCallRow>(
    'SELECT provider, model, input_tokens, output_tokens, cost_usd, response_text, duration_ms, tool_calls_json FROM model_calls WHERE cache_key = ? AND response_text IS NOT NULL ORDER BY id LIMIT 1',
    [key],
  );
  if (!r) return undefined;
  return {
    text: r.response_text,
    usage: { inputTokens: r.input_tokens, outputTokens: r.output_tokens },
    model: r.model,
    provider: r.provider as ProviderKind,
    costUsd: 0,
    durationMs: 0,
    ref: { provider: r.provider as ProviderKind, model: r.model },
    cached: true,
    ...(r.tool_calls_json !== null ? { toolCalls: JSON.parse(r.tool_calls_json) as ToolCall[] } : {}),
  };
}

/** Inserts a finished call and adds its cost to its run. Call inside a transaction. */
export function insertModelCall(
  db: Db,
  events: EngineEvent[],
  c: { runId?: string; taskId?: string; role: string; key: string; result: ModelCallResult; at: number },
): void {
  const r = c.result;
  db.run(
    `INSERT INTO model_calls (run_id, task_id, role, cache_key, provider, model, input_tokens, output_tokens, cost_usd, response_text, duration_ms, created_at, tool_calls_json)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [c.runId ?? null, c.taskId ?? null, c.role, c.key, r.ref.provider, r.ref.model, r.usage.inputTokens, r.usage.outputTokens, r.costUsd, r.text, Math.round(r.durationMs), c.at, r.toolCalls ? JSON.stringify(r.toolCalls) : null],
  );
  if (c.runId !== undefined) {
    db.run('UPDATE runs SET cost_usd = cost_usd + ?, updated_at = ? WHERE id = ?', [r.costUsd, c.at, c.runId]);
    emit(db, events, {
      at: c.at, actor: 'agent', kind: 'model/call', runId: c.runId, taskId: c.taskId,
      data: { role: c.role, provider: r.ref.provider, model: r.ref.model, inputTokens: r.usage.inputTokens, outputTokens: r.usage.outputTokens, costUsd: r.costUsd },
    });
  }
}

/** A recording client whose deferred calls the caller stores in its own transaction. */
export interface RecordingClient extends ModelClientLike {
  /**
   * Inserts the calls held back by `defer` (in call order) inside the caller's transaction,
   * appending their events to `events`; the caller must commit on every path that ends the
   * attempt, or the answers are paid for again after a restart.
   */
  flushDeferred(events: EngineEvent[]): void;
}

/**
 * Wraps a client so every call in `scope` is answered from `model_calls` when it was already
 * paid for, and otherwise recorded there (with its cost added to the run) before the answer
 * is returned. Failed calls are not recorded.
 *
 * `defer(role)` true holds a call's record back for `flushDeferred`, saving a durable write
 * when the caller commits right after the call anyway (the task's last call, the review, is
 * stored with the change it reviewed). Until then a crash loses the answer, as it would have
 * between the answer and its own write.
 */
export function recordingClient(db: Db, client: ModelClientLike, clock: Clock, scope: ModelCallScope, onEvent?: OnEvent, opts: { defer?: (role: Role) => boolean } = {}): RecordingClient {
  const held: Array<{ role: Role; key: string; result: ModelCallResult; at: number }> = [];
  return {
    async chat(role: Role, req) {
      const key = modelCallKey(scope, role, req);
      const hit = lookupModelCall(db, key);
      if (hit) return hit;
      const kept = held.find((h) => h.key === key);
      if (kept) return { ...kept.result, costUsd: 0, durationMs: 0, cached: true };
      const result = await client.chat(role, req);
      if (opts.defer?.(role)) held.push({ role, key, result, at: clock.now() });
      else commitWithEvents(db, onEvent, (events) => insertModelCall(db, events, { runId: scope.runId, taskId: scope.taskId, role, key, result, at: clock.now() }));
      return result;
    },
    flushDeferred(events) {
      for (const h of held.splice(0)) insertModelCall(db, events, { runId: scope.runId, taskId: scope.taskId, role: h.role, key: h.key, result: h.result, at: h.at });
    },
  };
}

/**
 * The `cache` option of the provider `ModelClient`, backed by `model_calls` (for calls made
 * outside `runPlan`, e.g. the planner). Do not give a client with this cache to `runPlan`:
 * `runPlan` records its own calls, and the two would store each call twice.
 */
export function createModelCallCache(db: Db, clock: Clock, scope: ModelCallScope & { role: string }): {
  get(key: string): ModelCallResult | undefined;
  put(key: string, result: ModelCallResult): void;
} {
  return {
    get: (key) => lookupModelCall(db, key),
    put: (key, result) => {
      db.transaction(() => insertModelCall(db, [], { runId: scope.runId, taskId: scope.taskId, role: scope.role, key, result, at: clock.now() }));
    },
  };
}
