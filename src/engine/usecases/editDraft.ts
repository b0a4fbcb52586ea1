import type { DraftEdit, DraftView } from '../api';
import { applyDraftEdit } from '../plan/draftEdit';
import { draftView, getDraftPlan, replaceDraftPlan } from '../runs/draft';
import type { EngineContext } from './context';

/**
 * Applies one user edit to a draft plan, re-validates it at once and stores it; returns the
 * draft as the views show it (errors and cycle edges included). A cycle is kept so the user
 * sees it; any other invalid edit is refused with `plan/bad-edit` and nothing is stored.
 * Throws `plan/not-draft` once the run has started.
 */
export function editDraft(ctx: EngineContext, runId: string, edit: DraftEdit): DraftView {
  const plan = applyDraftEdit(getDraftPlan(ctx.db, runId), edit, ctx.config);
  replaceDraftPlan(ctx.db, ctx.onEvent, { runId, plan, at: ctx.clock.now(), edit: { ...edit } });
  return draftView(ctx.db, runId, ctx.config.planner.maxTasks)!;
}
