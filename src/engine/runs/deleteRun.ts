import { EngineError } from '../errors';
import type { Clock } from '../ports';
import type { Db } from '../store/types';
import { commitWithEvents, emit } from './runs';
import type { OnEvent } from './types';

/** Stored run statuses in which agents may still be working on the run. */
const BUSY_RUN = ['planning', 'running'];
/** Queue states in which a worker may hold or pick up one of the run's entries. */
const BUSY_ENTRY = ['queued', 'checking', 'landing'];

/**
 * Deletes a run and every row that belongs to it, in one transaction: the run, its plan,
 * tasks, attempts, model calls, change requests, queue entries and events, and rows of any
 * other table keyed by `run_id`, `change_id` or `entry_id` (found from the schema, so a table a
 * later migration adds is covered too). Landed commits stay in git: deleting history never
 * rewrites the branch.
 *
 * Throws `usage/unknown-run` for an unknown id, and `usage/run-active` while the run is still
 * planning or running or one of its changes is in the merge queue (cancel the run or let the
 * queue settle first). One `run/deleted` event (without a run id, so it outlives the run)
 * tells hosts to refresh.
 */
export function deleteRun(db: Db, runId: string, deps: { clock: Clock; onEvent?: OnEvent }): void {
  const at = deps.clock.now();
  commitWithEvents(db, deps.onEvent, (events) => {
    const run = db.get<{ status: string }>('SELECT status FROM runs WHERE id = ?', [runId]);
    if (!run) throw new EngineError('usage/unknown-run', `there is no run "${runId}"`);
    if (BUSY_RUN.includes(run.status)) throw new EngineError('usage/run-active', `run ${runId} is still ${run.status}; cancel it before deleting it`);
    const busy = db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM queue_entries WHERE run_id = ? AND state IN (${BUSY_ENTRY.map(() => '?').join(', ')})`, [runId, ...BUSY_ENTRY])?.n ?? 0;
    if (busy > 0) throw new EngineError('usage/run-active', `run ${runId} has ${busy} change(s) in the merge queue; let them land or reject them before deleting the run`);

    const tables = db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").map((t) => t.name);
    const columns = new Map(tables.map((t) => [t, new Set(db.all<{ name: string }>(`PRAGMA table_info(${JSON.stringify(t)})`).map((c) => c.name))]));
    const changeIds = `SELECT id FROM change_requests WHERE run_id = ?`;
    const entryIds = `SELECT id FROM queue_entries WHERE run_id = ?`;
    // Rows keyed only by a change or an entry first, while those rows still name the run.
    for (const [table, cols] of columns) {
      if (cols.has('run_id') || table === 'runs') continue;
      if (cols.has('change_id')) db.run(`DELETE FROM ${JSON.stringify(table)} WHERE change_id IN (${changeIds})`, [runId]);
      if (cols.has('entry_id')) db.run(`DELETE FROM ${JSON.stringify(table)} WHERE entry_id IN (${entryIds})`, [runId]);
    }
    // Events about the run's changes and entries written without a run id.
    db.run(`DELETE FROM events WHERE subject_id IN (${changeIds}) OR subject_id IN (${entryIds})`, [runId, runId]);
    for (const [table, cols] of columns) {
      if (table !== 'runs' && cols.has('run_id')) db.run(`DELETE FROM ${JSON.stringify(table)} WHERE run_id = ?`, [runId]);
    }
    db.run('DELETE FROM runs WHERE id = ?', [runId]);
    emit(db, events, { at, actor: 'user', kind: 'run/deleted', subjectId: runId, from: run.status, reason: 'deleted by the user' });
  });
}
