import type { RunSummary } from '../api';
import { EngineError } from '../errors';
import { buildRunSummary, type CheckRun } from '../runs/summary';
import { getRunView, listChangeViews } from '../runs/views';
import type { EngineContext } from './context';

/**
 * The summary of one run (usually a settled one): gathers the run's views (tasks, changes,
 * queue entries, stored check runs) and hands them to the pure `buildRunSummary`.
 * Throws `usage/unknown-run` for an unknown id.
 */
export function runSummary(ctx: EngineContext, runId: string): RunSummary {
  const run = getRunView(ctx.db, runId);
  if (!run) throw new EngineError('usage/unknown-run', `there is no run "${runId}"`);
  const queue = ctx.queue.list().filter((e) => e.runId === runId);
  const checks = ctx.db
    .all<{ entry_id: string; attempt: number; command: string; exit_code: number | null; timed_out: number; duration_ms: number | null }>(
      `SELECT c.entry_id, c.attempt, c.command, c.exit_code, c.timed_out, c.duration_ms FROM check_outputs c
       JOIN queue_entries q ON q.id = c.entry_id WHERE q.run_id = ? ORDER BY c.entry_id, c.attempt`,
      [runId],
    )
    .map((r): CheckRun => ({ entryId: r.entry_id, attempt: r.attempt, command: r.command, exitCode: r.exit_code, timedOut: r.timed_out !== 0, durationMs: r.duration_ms ?? undefined }));
  const prices = ctx.config.prices;
  // As computeCost looks prices up; a task that called no model (a ready-made patch) costs a known 0.
  const isPriced = (t: { route?: { provider: string; model: string }; attempts: number }) =>
    !t.route || t.attempts === 0 || prices[`${t.route.provider}:${t.route.model}`] !== undefined || prices[t.route.model] !== undefined;
  return buildRunSummary({ run, changes: listChangeViews(ctx.db, { runId }), queue, checks, isPriced });
}
