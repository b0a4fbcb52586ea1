import type { ChangeStatus, ChangeView, RunStatus, RunView, TaskStatus, TaskView } from '../api';
import type { ModelRef } from '../config';
import type { PlanTask, TaskType } from '../plan/schema';
import type { Db, SqlValue } from '../store/types';
import { parseVerification, verificationText } from '../changes/verification';
import { deriveRunStatus } from './status';
import type { ChangeRow, RunRow, TaskRow } from './types';

/**
 * Read models for hosts. Every function is one SQL query (plus JSON parsing), so the UI can
 * call them on each change notification.
 */

type TaskViewRow = TaskRow & {
  cost: number; change_id: string | null; commit_sha: string | null;
  entry_state: string | null; entry_error: string | null; change_policy: string | null; change_explicit: number | null; run_approve: string | null;
  change_partly?: number | null;
};

/** Each task with its cost, its latest change and its latest land entry (one lookup each, joined once). */
const TASK_VIEW_SELECT = `
SELECT t.*,
  (SELECT COALESCE(SUM(m.cost_usd), 0) FROM model_calls m WHERE m.run_id = t.run_id AND m.task_id = t.id) AS cost,
  (SELECT q.landed_commit FROM queue_entries q WHERE q.run_id = t.run_id AND q.task_id = t.id AND q.kind = 'land' AND q.landed_commit IS NOT NULL
     ORDER BY q.updated_at DESC LIMIT 1) AS commit_sha,
  lc.id AS change_id, lc.policy_json AS change_policy, lc.needs_explicit_approval AS change_explicit, lc.partly_accepted AS change_partly,
  le.state AS entry_state, le.last_error AS entry_error,
  lr.approve AS run_approve
FROM tasks t
LEFT JOIN change_requests lc ON lc.rowid = (
  SELECT c.rowid FROM change_requests c WHERE c.run_id = t.run_id AND c.task_id = t.id ORDER BY c.created_at DESC, c.rowid DESC LIMIT 1)
LEFT JOIN queue_entries le ON le.rowid = (
  SELECT q.rowid FROM queue_entries q WHERE q.run_id = t.run_id AND q.task_id = t.id AND q.kind = 'land' ORDER BY q.seq DESC LIMIT 1)
LEFT JOIN runs lr ON lr.id = t.run_id`;

function opt<T>(v: SqlValue | undefined): T | undefined {
  return v === null || v === undefined ? undefined : (v as T);
}

/** The plan fields of a stored task (the JSON columns parsed), shared by every projection of a task row. */
export function planTaskOfRow(r: TaskRow): PlanTask {
  return {
    id: r.id,
    title: r.title,
    type: r.type as TaskType,
    prompt: r.prompt,
    acceptanceCriteria: JSON.parse(r.acceptance_json) as string[],
    dependsOn: JSON.parse(r.depends_json) as string[],
    files: JSON.parse(r.files_json) as string[],
  };
}

function toTaskView(r: TaskViewRow): TaskView {
  return {
    ...planTaskOfRow(r),
    runId: r.run_id,
    status: r.status as TaskStatus,
    route: r.route_json ? (JSON.parse(r.route_json) as ModelRef) : undefined,
    summary: opt<string>(r.result_summary),
    error: taskError(r),
    attempts: r.attempts,
    costUsd: r.cost,
    changeId: opt<string>(r.change_id),
    commit: opt<string>(r.commit_sha),
    startedAt: opt<number>(r.started_at),
    finishedAt: opt<number>(r.finished_at),
    ...(r.change_partly ? { partlyAccepted: true } : {}),
  };
}

/** The rules that ask a person to approve a change, as "rule (path)". */
function explicitRules(policyJson: string | null): string {
  const v = policyJson ? (JSON.parse(policyJson) as Array<{ rule: string; path?: string }>) : [];
  return v.map((x) => `${x.rule}${x.path ? ` (${x.path})` : ''}`).join(', ') || 'a protected path';
}

/**
 * A task that has not landed always says why: a change waiting for review (and, under
 * approve-all, the rule that asked for a person), or the queue's reason for an approved one.
 */
function taskError(r: TaskViewRow): string | undefined {
  if (r.status === 'proposed') {
    // Under approve-none the status says it all; under approve-all the user needs the why.
    if (r.run_approve !== 'all') return opt<string>(r.error);
    if (r.change_explicit) return `needs explicit approval: ${explicitRules(r.change_policy)}`;
    return opt<string>(r.error) ?? 'waiting for review';
  }
  if (r.status === 'approved') {
    if (r.entry_state === null) return 'approved; not queued yet';
    if (r.entry_state === 'blocked') return r.entry_error?.startsWith('blocked') ? r.entry_error : `blocked: ${r.entry_error ?? 'waiting for the work tree'}`;
    return r.entry_error ? `${r.entry_state}: ${r.entry_error}` : `waiting to land (${r.entry_state})`;
  }
  return opt<string>(r.error);
}

export function getTaskViews(db: Db, runId: string): TaskView[] {
  return db.all<TaskViewRow>(`${TASK_VIEW_SELECT} WHERE t.run_id = ? ORDER BY t.seq`, [runId]).map(toTaskView);
}

function toRunView(r: RunRow, tasks: TaskView[]): RunView {
  const status = deriveRunStatus(r.status as RunStatus, tasks);
  const failed = tasks.filter((t) => t.status === 'failed');
  return {
    id: r.id,
    goal: r.goal,
    status,
    baseCommit: opt<string>(r.base_commit),
    costUsd: r.cost_usd,
    createdAt: r.created_at,
    error: failed.length > 0 ? `${failed.length} task(s) failed: ${failed.map((t) => `${t.id} (${t.error ?? 'error'})`).join('; ')}` : status === 'failed' || status === 'cancelled' ? opt<string>(r.error) : undefined,
    tasks,
  };
}

export function getRunView(db: Db, runId: string): RunView | undefined {
  const r = db.get<RunRow>('SELECT * FROM runs WHERE id = ?', [runId]);
  return r ? toRunView(r, getTaskViews(db, runId)) : undefined;
}

/** The newest runs first, each with its tasks. */
export function listRunViews(db: Db, limit = 20): RunView[] {
  const runs = db.all<RunRow>('SELECT * FROM runs ORDER BY created_at DESC, id DESC LIMIT ?', [limit]);
  return runs.map((r) => toRunView(r, getTaskViews(db, r.id)));
}

/**
 * The last `limit` task requests with their status, in ONE query: newest run first, and
 * within a run in plan order.
 */
export function history(db: Db, limit = 100): TaskView[] {
  return db
    .all<TaskViewRow>(`${TASK_VIEW_SELECT} JOIN runs r ON r.id = t.run_id ORDER BY r.created_at DESC, r.id DESC, t.seq ASC LIMIT ?`, [limit])
    .map(toTaskView);
}

type ChangeViewRow = ChangeRow & { task_title: string | null };

const CHANGE_VIEW_SELECT = `SELECT c.*, t.title AS task_title FROM change_requests c LEFT JOIN tasks t ON t.run_id = c.run_id AND t.id = c.task_id`;

function toChangeView(r: ChangeViewRow): ChangeView {
  const verification = parseVerification(r.verification_json);
  const policy = (JSON.parse(r.policy_json) as Array<{ rule: string; path?: string; message: string }>).map((v) =>
    v.path === undefined ? { rule: v.rule, message: v.message } : { rule: v.rule, path: v.path, message: v.message },
  );
  return {
    id: r.id,
    runId: r.run_id,
    taskId: r.task_id,
    taskTitle: r.task_title ?? r.task_id,
    baseCommit: r.base_commit,
    patch: r.patch,
    files: JSON.parse(r.files_json) as string[],
    excludedFiles: JSON.parse(r.excluded_files_json) as string[],
    summary: r.summary,
    model: opt<string>(r.model),
    costUsd: r.cost_usd,
    reviewVerdict: opt<'approve' | 'request_changes'>(r.review_verdict),
    reviewComments: opt<string>(r.review_comments),
    needsExplicitApproval: r.needs_explicit_approval !== 0,
    explicitApprovalReasons: r.needs_explicit_approval !== 0
      ? [...policy.filter((v) => v.path !== undefined).map((v) => `${v.path}: ${v.message}`), ...(verification?.passed === false ? [`its own check failed: ${verificationText(verification)}`] : [])]
      : [],
    version: r.version ?? 1,
    approvedPatchHash: opt<string>(r.approved_patch_hash),
    policy,
    status: r.status as ChangeStatus,
    error: opt<string>(r.error),
    partlyAccepted: (r.partly_accepted ?? 0) !== 0,
    ...(verification ? { verification } : {}),
  };
}

export function getChangeView(db: Db, changeId: string): ChangeView | undefined {
  const r = db.get<ChangeViewRow>(`${CHANGE_VIEW_SELECT} WHERE c.id = ?`, [changeId]);
  return r ? toChangeView(r) : undefined;
}

/** Changes, newest first, optionally for one run and/or in one status. */
export function listChangeViews(db: Db, filter: { runId?: string; status?: ChangeStatus } = {}, limit = 500): ChangeView[] {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (filter.runId !== undefined) (where.push('c.run_id = ?'), params.push(filter.runId));
  if (filter.status !== undefined) (where.push('c.status = ?'), params.push(filter.status));
  const sql = `${CHANGE_VIEW_SELECT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY c.created_at DESC, c.rowid DESC LIMIT ?`;
  return db.all<ChangeViewRow>(sql, [...params, limit]).map(toChangeView);
}
