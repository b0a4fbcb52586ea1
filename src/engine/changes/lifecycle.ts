import { createHash } from 'node:crypto';
import type { ChangeStatus, ChangeVerification } from '../api';
import { EngineError } from '../errors';
import type { Actor, EngineEvent } from '../events';
import { appendEvent } from '../events';
import { transitionTask } from '../runs/runs';
import type { ChangeRow } from '../runs/types';
import type { Db, SqlValue } from '../store/types';

/**
 * The change request state machine: the only module that writes `change_requests`.
 *
 * Every move is a compare-and-set on the current status, inside the caller's transaction,
 * with a `change/state` audit event. Use cases (approve, reject, supersede, regenerate) and
 * the merge queue call `transitionChange`; nothing else updates the table.
 *
 *   proposed ──approve──▶ approved ──enqueue──▶ queued ──land──▶ merged ──revert──▶ reverted
 *      │  ▲                  │                    │ └─conflict, regenerated─▶ proposed (v+1)
 *      │  └──────────────────┴── back to review ──┘ └─fail──▶ failed
 *      └─reject─▶ rejected        any open status ──supersede──▶ superseded
 */

/** Statuses a change can still move out of by a user or the queue. */
export const OPEN_CHANGE_STATUSES: readonly ChangeStatus[] = ['proposed', 'approved', 'queued'];
/** Statuses after which a change never lands. */
export const DEAD_CHANGE_STATUSES: readonly ChangeStatus[] = ['rejected', 'failed', 'superseded', 'reverted'];

/** The hash an approval is bound to: the exact patch text (and the files left out of it). */
export function approvalHash(patch: string, excludedFiles: readonly string[] = []): string {
  const h = createHash('sha256').update(patch);
  if (excludedFiles.length > 0) h.update('\0excluded\0').update(JSON.stringify([...excludedFiles].sort()));
  return h.digest('hex');
}

/** True when the change's current patch is the one its approval was given to (legacy rows carry no hash). */
export function approvalMatches(c: Pick<ChangeRow, 'patch' | 'excluded_files_json'> & { approved_patch_hash?: string | null }): boolean {
  if (c.approved_patch_hash === undefined || c.approved_patch_hash === null) return true;
  return c.approved_patch_hash === approvalHash(c.patch, JSON.parse(c.excluded_files_json) as string[]);
}

type ChangeColumns = Partial<{
  patch: string;
  base_commit: string;
  excluded_files_json: string;
  approved_patch_hash: string | null;
  version: number;
  error: string | null;
  review_verdict: string | null;
  review_comments: string | null;
  summary: string;
  policy_json: string;
  needs_explicit_approval: number;
  files_json: string;
  partly_accepted: number;
  verification_json: string | null;
}>;

export interface ChangeTransition {
  changeId: string;
  to: ChangeStatus;
  /** Only move from one of these statuses (compare-and-set). */
  from: readonly ChangeStatus[];
  at: number;
  actor: Actor;
  reason?: string;
  set?: ChangeColumns;
  data?: Record<string, unknown>;
}

export function getChangeRow(db: Db, changeId: string): (ChangeRow & { approved_patch_hash: string | null; version: number }) | undefined {
  return db.get<ChangeRow & { approved_patch_hash: string | null; version: number }>('SELECT * FROM change_requests WHERE id = ?', [changeId]);
}

export function requireChange(db: Db, changeId: string): ChangeRow & { approved_patch_hash: string | null; version: number } {
  const c = getChangeRow(db, changeId);
  if (!c) throw new EngineError('usage/unknown-change', `there is no change request "${changeId}"`);
  return c;
}

/**
 * Moves a change inside the caller's transaction and appends its `change/state` event.
 * Returns false (and writes nothing) when the change does not exist or is not in `from`.
 */
export function transitionChange(db: Db, events: EngineEvent[], t: ChangeTransition): boolean {
  const row = db.get<{ status: ChangeStatus; run_id: string; task_id: string }>('SELECT status, run_id, task_id FROM change_requests WHERE id = ?', [t.changeId]);
  if (!row || !t.from.includes(row.status)) return false;
  const set: ChangeColumns = { ...t.set };
  const cols = Object.keys(set) as Array<keyof ChangeColumns>;
  const assigns = ['status = ?', 'updated_at = ?', ...cols.map((c) => `${c} = ?`)].join(', ');
  const r = db.run(`UPDATE change_requests SET ${assigns} WHERE id = ? AND status = ?`, [
    t.to, t.at, ...cols.map((c) => (set[c] ?? null) as SqlValue), t.changeId, row.status,
  ]);
  if (r.changes !== 1) return false;
  const ev: EngineEvent = {
    at: t.at, actor: t.actor, kind: 'change/state', runId: row.run_id, taskId: row.task_id, subjectId: t.changeId,
    from: row.status, to: t.to, reason: t.reason, data: t.data,
  };
  appendEvent(db, ev);
  events.push(ev);
  return true;
}

/** A new change as the agent (or a ready-made patch) proposed it, with its `change/proposed` or `change/rejected` event. */
export function insertChange(
  db: Db,
  events: EngineEvent[],
  c: {
    id: string; runId: string; taskId: string; baseCommit: string; patch: string; files: string[]; summary: string; model: string | null;
    usage: { input: number; output: number; costUsd: number }; review: { verdict: string | null; comments: string } | null;
    needsExplicitApproval: boolean; policyJson: string; status: 'proposed' | 'rejected'; error: string | null; at: number;
    verification?: ChangeVerification;
  },
): void {
  db.run(
    `INSERT INTO change_requests (id, run_id, task_id, base_commit, patch, files_json, summary, model, input_tokens, output_tokens, cost_usd,
       review_verdict, review_comments, needs_explicit_approval, policy_json, status, error, created_at, updated_at, verification_json)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      c.id, c.runId, c.taskId, c.baseCommit, c.patch, JSON.stringify(c.files), c.summary, c.model, c.usage.input, c.usage.output, c.usage.costUsd,
      c.review?.verdict ?? null, c.review?.comments ?? null, c.needsExplicitApproval ? 1 : 0, c.policyJson, c.status, c.error, c.at, c.at,
      c.verification ? JSON.stringify(c.verification) : null,
    ],
  );
  const ev: EngineEvent = {
    at: c.at, actor: 'agent', kind: c.status === 'rejected' ? 'change/rejected' : 'change/proposed', runId: c.runId, taskId: c.taskId, subjectId: c.id,
    to: c.status, reason: c.error ?? undefined, data: { files: c.files, needsExplicitApproval: c.needsExplicitApproval, reviewVerdict: c.review?.verdict ?? null, ...(c.verification ? { checkPassed: c.verification.passed } : {}) },
  };
  appendEvent(db, ev);
  events.push(ev);
}

/**
 * Supersedes every open or dead-but-retryable change of a task (a retry makes a new one).
 * Returns the superseded ids.
 */
export function supersedeTaskChanges(db: Db, events: EngineEvent[], o: { runId: string; taskId: string; from: readonly ChangeStatus[]; at: number; actor: Actor; reason: string }): string[] {
  const ids = db.all<{ id: string }>(
    `SELECT id FROM change_requests WHERE run_id = ? AND task_id = ? AND status IN (${o.from.map(() => '?').join(', ')}) ORDER BY created_at`,
    [o.runId, o.taskId, ...o.from],
  ).map((r) => r.id);
  return ids.filter((id) => transitionChange(db, events, { changeId: id, to: 'superseded', from: o.from, at: o.at, actor: o.actor, reason: o.reason, set: { error: o.reason } }));
}

/**
 * Keeps the patch a change had before it is replaced (a regeneration), so every version can
 * be read back. Inside the caller's transaction.
 */
export function archiveVersion(db: Db, c: { id: string; version: number; base_commit: string; patch: string; approved_patch_hash: string | null }, at: number, reason: string): void {
  db.run(
    'INSERT OR REPLACE INTO change_versions (change_id, version, base_commit, patch, approved_patch_hash, replaced_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?)',
    [c.id, c.version, c.base_commit, c.patch, c.approved_patch_hash, at, reason],
  );
}

/**
 * A change the queue had to regenerate after a conflict goes back to review with its new
 * patch: version + 1, the approval dropped (it was given to another patch), the old version
 * archived, the task back to `proposed`. Inside the caller's transaction. Returns the new version.
 */
export function returnToReview(
  db: Db,
  events: EngineEvent[],
  o: { changeId: string; patch: string; baseCommit: string; at: number; reason: string; review?: { verdict: string; comments: string } | null; summary?: string; verification?: ChangeVerification },
): number {
  const c = requireChange(db, o.changeId);
  archiveVersion(db, c, o.at, o.reason);
  const version = c.version + 1;
  // A check result belongs to the patch it ran on: the new patch has its own, or none.
  const set: ChangeColumns = { patch: o.patch, base_commit: o.baseCommit, approved_patch_hash: null, version, error: null, verification_json: verificationJson(o.verification) };
  if (o.review !== undefined) {
    set.review_verdict = o.review?.verdict ?? null;
    set.review_comments = o.review?.comments ?? null;
  }
  if (o.summary !== undefined) set.summary = o.summary;
  const moved = transitionChange(db, events, {
    changeId: o.changeId, to: 'proposed', from: ['approved', 'queued'], at: o.at, actor: 'agent', reason: o.reason, set,
    data: { regenerated: true, version },
  });
  if (!moved) throw new EngineError('usage/bad-state', `change ${o.changeId} is ${c.status}; it cannot go back to review`);
  transitionTask(db, events, { runId: c.run_id, taskId: c.task_id, from: ['approved', 'merged'], to: 'proposed', at: o.at, actor: 'agent', reason: `${o.reason}; waiting for review (v${version})`, error: null });
  return version;
}

/** A new patch for a change as the policy saw it: what replaces the old one in a new version. */
export interface NextVersion {
  patch: string;
  files: string[];
  policyJson: string;
  needsExplicitApproval: boolean;
  /** The new patch's own check, when its developer ran one. */
  verification?: ChangeVerification;
}

const verificationJson = (v: ChangeVerification | undefined): string | null => (v ? JSON.stringify(v) : null);

function requireReviewable(db: Db, changeId: string, expectedVersion: number | undefined): ReturnType<typeof requireChange> {
  const c = requireChange(db, changeId);
  if (c.status !== 'proposed') throw new EngineError('usage/bad-state', `change ${changeId} is ${c.status}, not waiting for review`);
  if (expectedVersion !== undefined && c.version !== expectedVersion) {
    throw new EngineError('usage/bad-state', `change ${changeId} is now v${c.version}; you reviewed v${expectedVersion}: review the new diff`);
  }
  return c;
}

/**
 * Partial acceptance (inline review): the kept hunks become the change's next version, approved
 * and bound to that exact patch; the previous version is archived with the rejected hunks beside
 * it; the task is approved and marked partly accepted. Inside the caller's transaction; the
 * caller queues the change in the same one. Throws `usage/bad-state` when the change is not
 * waiting for review or is no longer `expectedVersion`. Returns the new version.
 */
export function acceptPart(
  db: Db,
  events: EngineEvent[],
  o: { changeId: string; expectedVersion: number; next: NextVersion; rejectedPatch: string; at: number; reason: string },
): number {
  const c = requireReviewable(db, o.changeId, o.expectedVersion);
  archiveVersion(db, c, o.at, o.reason);
  db.run('UPDATE change_versions SET rejected_patch = ? WHERE change_id = ? AND version = ?', [o.rejectedPatch, c.id, c.version]);
  const version = c.version + 1;
  transitionChange(db, events, {
    changeId: o.changeId, from: ['proposed'], to: 'approved', at: o.at, actor: 'user', reason: o.reason,
    set: {
      patch: o.next.patch, files_json: JSON.stringify(o.next.files), policy_json: o.next.policyJson, needs_explicit_approval: o.next.needsExplicitApproval ? 1 : 0,
      excluded_files_json: '[]', approved_patch_hash: approvalHash(o.next.patch), version, partly_accepted: 1, error: null,
      // The developer's check ran on the whole change, never on this part: the queue's check is the one that counts.
      verification_json: null,
    },
    data: { version, partlyAccepted: true },
  });
  transitionTask(db, events, { runId: c.run_id, taskId: c.task_id, from: ['proposed'], to: 'approved', at: o.at, actor: 'user', reason: `partly accepted (v${version}): ${o.reason}`, error: null });
  return version;
}

/**
 * Request Changes: the agent's answer to the comments becomes the change's next version, still
 * waiting for review (a comment never approves). The previous version is archived. Inside the
 * caller's transaction. Throws `usage/bad-state` when the change was approved, rejected or
 * revised while the agent worked. Returns the new version.
 */
export function reviseChange(
  db: Db,
  events: EngineEvent[],
  o: { changeId: string; expectedVersion: number; next: NextVersion; summary: string; review: { verdict: string | null; comments: string } | null; at: number; reason: string },
): number {
  const c = requireReviewable(db, o.changeId, o.expectedVersion);
  archiveVersion(db, c, o.at, o.reason);
  const version = c.version + 1;
  transitionChange(db, events, {
    changeId: o.changeId, from: ['proposed'], to: 'proposed', at: o.at, actor: 'agent', reason: o.reason,
    set: {
      patch: o.next.patch, files_json: JSON.stringify(o.next.files), policy_json: o.next.policyJson, needs_explicit_approval: o.next.needsExplicitApproval ? 1 : 0,
      excluded_files_json: '[]', approved_patch_hash: null, version, summary: o.summary,
      review_verdict: o.review?.verdict ?? null, review_comments: o.review?.comments ?? null, error: null, verification_json: verificationJson(o.next.verification),
    },
    data: { version, changesRequested: true },
  });
  transitionTask(db, events, { runId: c.run_id, taskId: c.task_id, from: ['proposed'], to: 'proposed', at: o.at, actor: 'agent', reason: `${o.reason}; waiting for review (v${version})`, summary: o.summary, error: null });
  return version;
}
