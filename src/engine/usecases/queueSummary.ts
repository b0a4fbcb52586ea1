import type { QueueSummary } from '../api';
import type { Db } from '../store/types';

/** The counts the status bar shows. */
export function queueSummary(db: Db): QueueSummary {
  const count = (sql: string) => db.get<{ n: number }>(sql)?.n ?? 0;
  const latest = db.get<{ cost_usd: number }>('SELECT cost_usd FROM runs ORDER BY created_at DESC LIMIT 1');
  return {
    running: count("SELECT COUNT(*) AS n FROM tasks WHERE status = 'running'"),
    awaitingReview: count("SELECT COUNT(*) AS n FROM change_requests WHERE status = 'proposed'"),
    queued: count("SELECT COUNT(*) AS n FROM queue_entries WHERE state IN ('queued', 'checking', 'landing')"),
    merged: count("SELECT COUNT(*) AS n FROM queue_entries WHERE state = 'merged'"),
    failed: count("SELECT COUNT(*) AS n FROM queue_entries WHERE state IN ('failed', 'quarantined', 'conflicted')"),
    blocked: count("SELECT COUNT(*) AS n FROM queue_entries WHERE state = 'blocked'"),
    costUsd: latest?.cost_usd ?? 0,
    runningRemotely: count(
      `SELECT COUNT(DISTINCT w.run_id || '/' || w.task_id) AS n FROM worker_runs w JOIN tasks t ON t.run_id = w.run_id AND t.id = w.task_id
       WHERE w.status = 'running' AND t.status = 'running'`,
    ),
  };
}
