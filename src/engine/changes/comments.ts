import type { ChangeCommentView, NewComment } from '../api';
import { EngineError } from '../errors';
import { newId } from '../runs/runs';
import type { Db } from '../store/types';

/**
 * Review comments on a change (`change_comments`). A comment is written on one version, sent
 * to the agent by one Request Changes, and answered by the version the agent made from it.
 * Comments never move a change; the state machine stays in `lifecycle.ts`.
 */

const MAX_COMMENT = 10_000;

interface CommentRow {
  [k: string]: string | number | null;
  id: string;
  change_id: string;
  version: number;
  path: string | null;
  line: number | null;
  body: string;
  author: string;
  created_at: number;
  sent_in_version: number | null;
  answered_in_version: number | null;
  answer: string | null;
}

/** Throws `usage/empty-comment`, `usage/too-large` or `usage/bad-state` (a line without a file) for a comment that cannot be sent. */
export function checkComment(c: NewComment, files: readonly string[]): void {
  if (c.body.trim() === '') throw new EngineError('usage/empty-comment', 'the comment is empty');
  if (c.body.length > MAX_COMMENT) throw new EngineError('usage/too-large', `a comment is at most ${MAX_COMMENT} characters`);
  if (c.line !== undefined && c.path === undefined) throw new EngineError('usage/bad-state', 'a comment on a line must name its file');
  if (c.line !== undefined && (!Number.isInteger(c.line) || c.line < 1)) throw new EngineError('usage/bad-state', `line ${c.line} is not a line number`);
  if (c.path !== undefined && !files.includes(c.path)) throw new EngineError('usage/bad-state', `the change does not touch ${c.path} (it touches ${files.join(', ') || 'no file'})`);
}

/** Stores a user's comment on the change's current version, inside the caller's transaction. */
export function insertComment(db: Db, o: { changeId: string; version: number; comment: NewComment; at: number }): string {
  const id = newId('cm');
  db.run(
    'INSERT INTO change_comments (id, change_id, version, path, line, body, author, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    [id, o.changeId, o.version, o.comment.path ?? null, o.comment.line ?? null, o.comment.body.trim(), 'user', o.at],
  );
  return id;
}

/** The user's comments not yet sent to the agent, oldest first. */
export function pendingComments(db: Db, changeId: string): ChangeCommentView[] {
  return db.all<CommentRow>("SELECT * FROM change_comments WHERE change_id = ? AND author = 'user' AND sent_in_version IS NULL ORDER BY created_at, rowid", [changeId]).map(toView);
}

export function markSent(db: Db, ids: readonly string[], version: number): void {
  for (const id of ids) db.run('UPDATE change_comments SET sent_in_version = ? WHERE id = ?', [version, id]);
}

export function markAnswered(db: Db, ids: readonly string[], version: number, answer: string): void {
  for (const id of ids) db.run('UPDATE change_comments SET answered_in_version = ?, answer = ? WHERE id = ?', [version, answer, id]);
}

/** Sent comments go back to pending when the agent failed, so a retry sends them again. */
export function markUnsent(db: Db, ids: readonly string[]): void {
  for (const id of ids) db.run('UPDATE change_comments SET sent_in_version = NULL WHERE id = ? AND answered_in_version IS NULL', [id]);
}

function toView(r: CommentRow): ChangeCommentView {
  return {
    id: r.id, changeId: r.change_id, version: r.version, body: r.body, author: r.author === 'reviewer' ? 'reviewer' : 'user', createdAt: r.created_at,
    ...(r.path !== null ? { path: r.path } : {}),
    ...(r.line !== null ? { line: r.line } : {}),
    ...(r.sent_in_version !== null ? { sentInVersion: r.sent_in_version } : {}),
    ...(r.answered_in_version !== null ? { answeredInVersion: r.answered_in_version } : {}),
    ...(r.answer !== null ? { answer: r.answer } : {}),
  };
}

/**
 * Where the reviewer's text names a line ("src/a.ts:12: …" or "src/a.ts line 12"), the comment is
 * put there; otherwise on the whole change.
 */
function reviewerPlace(text: string, files: readonly string[]): { path?: string; line?: number } {
  for (const f of files) {
    const at = text.indexOf(f);
    if (at < 0) continue;
    const m = /^(?::|,? line )(\d+)/.exec(text.slice(at + f.length));
    return m ? { path: f, line: Number(m[1]) } : { path: f };
  }
  return {};
}

/**
 * Every comment on a change, oldest first: the user's, and the reviewer agent's comments on the
 * current version (kept on the change itself, so shown as one comment of author `reviewer`).
 */
export function listComments(db: Db, changeId: string): ChangeCommentView[] {
  const c = db.get<{ version: number; review_comments: string | null; review_verdict: string | null; files_json: string; updated_at: number }>(
    'SELECT version, review_comments, review_verdict, files_json, updated_at FROM change_requests WHERE id = ?', [changeId],
  );
  if (!c) throw new EngineError('usage/unknown-change', `there is no change request "${changeId}"`);
  const own = db.all<CommentRow>('SELECT * FROM change_comments WHERE change_id = ? ORDER BY created_at, rowid', [changeId]).map(toView);
  const text = c.review_comments?.trim() ?? '';
  if (text === '') return own;
  const verdict = c.review_verdict === 'approve' ? 'approves' : c.review_verdict === 'request_changes' ? 'requests changes' : 'says';
  const reviewer: ChangeCommentView = {
    id: `review-${changeId}-v${c.version}`, changeId, version: c.version, author: 'reviewer', createdAt: c.updated_at,
    body: `The reviewer ${verdict}: ${text}`, ...reviewerPlace(text, JSON.parse(c.files_json) as string[]),
  };
  return [reviewer, ...own];
}
