import type { RequestView, TaskStatus } from '../api';
import type { Db } from '../store/types';
import { getRunView } from './views';

/** Default length of the history list: "the last ~100 task requests". */
export const DEFAULT_REQUEST_LIMIT = 100;

/**
 * The last `limit` requests (runs), newest first, each with its goal, creation time, status
 * and how many of its tasks are in each status. The status is the run's own view status
 * (getRunView), so the history list and the run views can never disagree.
 */
export function listRequests(db: Db, limit = DEFAULT_REQUEST_LIMIT): RequestView[] {
  const ids = db.all<{ id: string }>('SELECT id FROM runs ORDER BY created_at DESC, id DESC LIMIT ?', [Math.max(0, Math.floor(limit))]);
  return ids.flatMap(({ id }) => {
    const run = getRunView(db, id);
    if (!run) return [];
    const taskCounts: Partial<Record<TaskStatus, number>> = {};
    for (const t of run.tasks) taskCounts[t.status] = (taskCounts[t.status] ?? 0) + 1;
    return [{ runId: run.id, goal: run.goal, createdAt: run.createdAt, status: run.status, taskCounts, costUsd: run.costUsd }];
  });
}
