import type { ChangeCommentView, ChangeView } from '../../engine/api';

/**
 * Where a comment's thread is drawn: on its line of its file; a comment on a file on that
 * file's first line; a comment on the whole change on the first line of the change's first file.
 */
export function commentPlacement(change: Pick<ChangeView, 'files'>, c: Pick<ChangeCommentView, 'path' | 'line'>): { path: string; line: number; onWholeChange: boolean } {
  if (c.path !== undefined) return { path: c.path, line: Math.max(0, (c.line ?? 1) - 1), onWholeChange: false };
  return { path: change.files[0] ?? '', line: 0, onWholeChange: true };
}

/** The thread's title: who wrote it, where, and whether the agent has answered it. */
export function threadLabel(c: Pick<ChangeCommentView, 'author' | 'sentInVersion' | 'answeredInVersion' | 'path' | 'line'>, onWholeChange: boolean): string {
  const where = onWholeChange ? 'on the whole change' : c.line === undefined ? 'on this file' : `on line ${c.line}`;
  if (c.author === 'reviewer') return `Reviewer agent, ${where}`;
  const state = c.answeredInVersion !== undefined ? `answered in v${c.answeredInVersion}` : c.sentInVersion !== undefined ? 'sent to the agent' : 'not sent yet: Request Changes sends it';
  return `Comment ${where} (${state})`;
}

/**
 * Whether a thread opens expanded. The reviewer's note on the whole change when it approved says
 * nothing to act on, and open it would cover the first lines of every diff: it starts collapsed
 * (its gutter icon and the Comments view still show it). Everything else asks to be read.
 */
export function threadExpanded(change: Pick<ChangeView, 'reviewVerdict'>, c: Pick<ChangeCommentView, 'author'>, onWholeChange: boolean): boolean {
  return !(c.author === 'reviewer' && onWholeChange && change.reviewVerdict === 'approve');
}
