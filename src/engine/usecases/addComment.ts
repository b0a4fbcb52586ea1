import type { ChangeCommentView, NewComment } from '../api';
import { checkComment, insertComment, listComments } from '../changes/comments';
import { requireChange } from '../changes/lifecycle';
import { commitWithEvents } from '../runs/runs';
import type { EngineContext } from './context';

/**
 * A person's comment on the change's current version, kept until Request Changes sends it.
 * Throws `usage/unknown-change`, `usage/empty-comment`, `usage/too-large`, `usage/bad-state`
 * (a file the change does not touch, a line without a file).
 */
export function addComment(ctx: Pick<EngineContext, 'db' | 'clock' | 'onEvent'>, changeId: string, comment: NewComment): ChangeCommentView {
  const { db } = ctx;
  const at = ctx.clock.now();
  return commitWithEvents(db, ctx.onEvent, () => {
    const c = requireChange(db, changeId);
    checkComment(comment, JSON.parse(c.files_json) as string[]);
    const id = insertComment(db, { changeId, version: c.version, comment, at });
    return listComments(db, changeId).find((x) => x.id === id)!;
  });
}
