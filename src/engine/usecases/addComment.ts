import type { ChangeCommentView, NewComment } from '../api';
import { checkComment, insertComment, listComments } from '../changes/comments';
import { EngineError } from '../errors';
import { requireChange } from '../changes/lifecycle';
import { commitWithEvents } from '../runs/runs';
import type { EngineContext } from './context';

/**
 * A person's comment on the change's current version, kept until Request Changes sends it.
 * Throws `usage/unknown-change`, `usage/empty-comment`, `usage/too-large`, `usage/bad-state`
 * (a file the change does not touch, a line without a file, a change no longer waiting for
 * review: Request Changes could never send it).
 */
export function addComment(ctx: Pick<EngineContext, 'db' | 'clock' | 'onEvent'>, changeId: string, comment: NewComment): ChangeCommentView {
  const { db } = ctx;
  const at = ctx.clock.now();
  return commitWithEvents(db, ctx.onEvent, () => {
    const c = requireChange(db, changeId);
    if (c.status !== 'proposed') throw new EngineError('usage/bad-state', `change ${changeId} is ${c.status}, not waiting for review: a comment on it could not be sent to its agent`);
    checkComment(comment, JSON.parse(c.files_json) as string[]);
    const id = insertComment(db, { changeId, version: c.version, comment, at });
    return listComments(db, changeId).find((x) => x.id === id)!;
  });
}
