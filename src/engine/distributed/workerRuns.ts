import type { Db } from '../store/types';

/**
 * The owner of `worker_runs`: which worker ran each attempt of a task that ran on workers.
 * BullMQ gives a stalled job (its worker died) to another worker without the coordinator
 * opening a new attempt, so one attempt of a task can have several rows here, in order.
 */
export interface WorkerRunView {
  attempt: number;
  jobId: string;
  seq: number;
  worker: string;
  host: string;
  status: 'running' | 'ok' | 'error' | 'stalled';
  error: string | null;
  startedAt: number;
  finishedAt: number | null;
}

/**
 * Records that `worker` started the job. A job that was running elsewhere is marked
 * `stalled` (BullMQ only hands a job over when its worker stopped renewing its lock). A
 * repeated report from the same worker writes nothing.
 */
export function recordWorkerStart(db: Db, r: WorkerStart): void {
  db.transaction(() => startInTransaction(db, r));
}

interface WorkerStart { runId: string; taskId: string; attempt: number; jobId: string; worker: string; host: string; at: number }

function startInTransaction(db: Db, r: WorkerStart): void {
  {
    const last = db.get<{ seq: number; worker: string; status: string }>('SELECT seq, worker, status FROM worker_runs WHERE job_id = ? ORDER BY seq DESC LIMIT 1', [r.jobId]);
    if (last && last.worker === r.worker && last.status === 'running') return;
    if (last && last.status === 'running') {
      db.run(`UPDATE worker_runs SET status = 'stalled', error = ?, finished_at = ? WHERE job_id = ? AND seq = ?`, [`${last.worker} stopped answering; the job went to ${r.worker}`, r.at, r.jobId, last.seq]);
    }
    db.run(
      `INSERT INTO worker_runs (run_id, task_id, attempt, job_id, seq, worker, host, status, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?)`,
      [r.runId, r.taskId, r.attempt, r.jobId, (last?.seq ?? 0) + 1, r.worker, r.host, r.at],
    );
  }
}

/** Settles the job's latest row: `ok` with the worker that sent the result, or `error`. */
export function recordWorkerEnd(db: Db, r: { jobId: string; status: 'ok' | 'error'; worker?: string; host?: string; error?: string; at: number; runId: string; taskId: string; attempt: number }): void {
  db.transaction(() => {
    const last = db.get<{ seq: number; worker: string; status: string }>('SELECT seq, worker, status FROM worker_runs WHERE job_id = ? ORDER BY seq DESC LIMIT 1', [r.jobId]);
    // The start report can be missed (events are best effort); the result names the worker.
    if (!last || (r.worker !== undefined && last.worker !== r.worker)) {
      if (r.worker === undefined) return;
      startInTransaction(db, { ...r, worker: r.worker, host: r.host ?? '', at: r.at });
    }
    const cur = db.get<{ seq: number }>('SELECT seq FROM worker_runs WHERE job_id = ? ORDER BY seq DESC LIMIT 1', [r.jobId])!;
    db.run('UPDATE worker_runs SET status = ?, error = ?, finished_at = ? WHERE job_id = ? AND seq = ?', [r.status, r.error ?? null, r.at, r.jobId, cur.seq]);
  });
}

/**
 * Closes the rows of earlier attempts still marked `running` (the coordinator restarted while
 * they ran: their job may still finish on its worker, but its result is no longer used).
 */
export function supersedeEarlierAttempts(db: Db, runId: string, taskId: string, attempt: number, at: number): void {
  db.run(
    `UPDATE worker_runs SET status = 'error', error = ?, finished_at = ? WHERE run_id = ? AND task_id = ? AND attempt < ? AND status = 'running'`,
    [`superseded by attempt ${attempt}: the coordinator stopped while this one ran`, at, runId, taskId, attempt],
  );
}

/** Every worker run of a task, oldest first. */
export function listWorkerRuns(db: Db, runId: string, taskId: string): WorkerRunView[] {
  return db.all<{ attempt: number; job_id: string; seq: number; worker: string; host: string; status: WorkerRunView['status']; error: string | null; started_at: number; finished_at: number | null }>(
    'SELECT attempt, job_id, seq, worker, host, status, error, started_at, finished_at FROM worker_runs WHERE run_id = ? AND task_id = ? ORDER BY attempt, seq',
    [runId, taskId],
  ).map((w) => ({ attempt: w.attempt, jobId: w.job_id, seq: w.seq, worker: w.worker, host: w.host, status: w.status, error: w.error, startedAt: w.started_at, finishedAt: w.finished_at }));
}
