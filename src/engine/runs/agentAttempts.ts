import type { HarnessUsage } from '../agents/harness';
import type { Db } from '../store/types';
import { commitWithEvents, emit } from './runs';
import type { OnEvent } from './types';

/** A stored transcript keeps at most this much: its head (how the agent started) and its tail (how it ended). */
export const MAX_STORED_TRANSCRIPT = 256_000;
const HEAD = 16_000;

/** `text` cut to MAX_STORED_TRANSCRIPT characters, head and tail kept with a marker between. */
export function boundTranscript(text: string): { text: string; truncated: boolean } {
  if (text.length <= MAX_STORED_TRANSCRIPT) return { text, truncated: false };
  const cut = text.length - MAX_STORED_TRANSCRIPT;
  const marker = `\n… ${cut} characters left out …\n`;
  return { text: `${text.slice(0, HEAD)}${marker}${text.slice(text.length - (MAX_STORED_TRANSCRIPT - HEAD - marker.length))}`, truncated: true };
}

export interface AgentAttemptRecord {
  runId: string;
  taskId: string;
  /** The task's attempt number (tasks.attempts when the agent ran). */
  attempt: number;
  /** The configured agent name. */
  agent: string;
  /** The model the agent says it used, else the route's; undefined when neither is known. */
  model: string | undefined;
  /** What the agent reported using, or null when it reports nothing (a plain command). */
  usage: HarnessUsage | null;
  /** USD for `usage` (reported by the agent, else priced from config.prices). */
  costUsd: number;
  transcript: string;
  at: number;
}

/**
 * Stores what one agent attempt left, however it ended, in one transaction: its transcript
 * (bounded, see `boundTranscript`) and, when it reported usage, a `model_calls` row under the
 * task with provider `agent:<name>`, its cost added to the run, and a `model/call` event, the
 * same ledger the built-in developer's calls go to, so the task's cost, the run's cost and the
 * run's budget count the agent. No cache key: an agent's work is never replayed.
 */
export function recordAgentAttempt(db: Db, onEvent: OnEvent | undefined, r: AgentAttemptRecord): void {
  const t = boundTranscript(r.transcript);
  commitWithEvents(db, onEvent, (events) => {
    db.run(
      'INSERT OR REPLACE INTO task_transcripts (run_id, task_id, attempt, agent, transcript, truncated, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [r.runId, r.taskId, r.attempt, r.agent, t.text, t.truncated ? 1 : 0, r.at],
    );
    if (!r.usage) return;
    const provider = `agent:${r.agent}`;
    const model = r.model ?? 'default';
    db.run(
      `INSERT INTO model_calls (run_id, task_id, role, cache_key, provider, model, input_tokens, output_tokens, cost_usd, response_text, duration_ms, created_at)
       VALUES (?, ?, 'agent', NULL, ?, ?, ?, ?, ?, NULL, NULL, ?)`,
      [r.runId, r.taskId, provider, model, r.usage.inputTokens, r.usage.outputTokens, r.costUsd, r.at],
    );
    db.run('UPDATE runs SET cost_usd = cost_usd + ?, updated_at = ? WHERE id = ?', [r.costUsd, r.at, r.runId]);
    emit(db, events, {
      at: r.at, actor: 'agent', kind: 'model/call', runId: r.runId, taskId: r.taskId,
      data: { role: 'agent', provider, model, inputTokens: r.usage.inputTokens, outputTokens: r.usage.outputTokens, costUsd: r.costUsd },
    });
  });
}

/** The stored transcript of a task's latest agent attempt, or of attempt `attempt`; undefined when there is none. */
export function readTaskTranscript(db: Db, runId: string, taskId: string, attempt?: number): string | undefined {
  const row = attempt === undefined
    ? db.get<{ transcript: string }>('SELECT transcript FROM task_transcripts WHERE run_id = ? AND task_id = ? ORDER BY attempt DESC LIMIT 1', [runId, taskId])
    : db.get<{ transcript: string }>('SELECT transcript FROM task_transcripts WHERE run_id = ? AND task_id = ? AND attempt = ?', [runId, taskId, attempt]);
  return row?.transcript;
}
