import type { DraftView } from '../api';
import type { Actor } from '../events';
import { EngineError } from '../errors';
import { checkDraft } from '../plan/draftEdit';
import type { Db } from '../store/types';
import { commitWithEvents, emit, getStoredPlan, insertTaskRows, transitionRun, transitionTask } from './runs';
import type { OnEvent, RunPlanInput } from './types';

/**
 * The `draft` state of a run, owned here: a run stored by `createRun({ draft: true })` waits
 * with every task `pending` while the user edits its plan; `replaceDraftPlan` is the only
 * write to a draft's plan and tasks, and `promoteDraft` the only way out to `running`. Each
 * write is one transaction with its audit event (`run/draft-edited`, `run/state`).
 */

function draftStatus(db: Db, runId: string): void {
  const row = db.get<{ status: string }>('SELECT status FROM runs WHERE id = ?', [runId]);
  if (!row) throw new EngineError('usage/unknown-run', `there is no run "${runId}"`);
  if (row.status !== 'draft') throw new EngineError('plan/not-draft', `run ${runId} is ${row.status}, not a draft: only a draft plan can be edited or started`);
}

/** The draft's stored plan. Throws `usage/unknown-run` and `plan/not-draft`. */
export function getDraftPlan(db: Db, runId: string): RunPlanInput {
  draftStatus(db, runId);
  const plan = getStoredPlan(db, runId);
  if (!plan) throw new EngineError('usage/unknown-run', `run ${runId} has no stored plan`);
  return plan;
}

/** The draft with the validator's findings, or undefined when the run is unknown or not a draft. */
export function draftView(db: Db, runId: string, maxTasks: number): DraftView | undefined {
  const row = db.get<{ status: string }>('SELECT status FROM runs WHERE id = ?', [runId]);
  if (row?.status !== 'draft') return undefined;
  const plan = getStoredPlan(db, runId);
  if (!plan) return undefined;
  const check = checkDraft(plan, maxTasks);
  return { runId, plan, errors: check.errors, cycleEdges: check.cycleEdges, questions: plan.questions ?? [], assumptions: plan.assumptions ?? [] };
}

/**
 * Replaces a draft's plan and task rows with `plan` (already checked by the caller:
 * `applyDraftEdit`), in one transaction with a `run/draft-edited` event that records the
 * edit. Throws `plan/not-draft` when the run left the draft state meanwhile.
 */
export function replaceDraftPlan(db: Db, onEvent: OnEvent | undefined, input: { runId: string; plan: RunPlanInput; at: number; edit: Record<string, unknown>; actor?: Actor }): void {
  const { runId, plan, at } = input;
  commitWithEvents(db, onEvent, (events) => {
    draftStatus(db, runId);
    db.run('UPDATE plans SET plan_json = ? WHERE run_id = ?', [JSON.stringify(plan), runId]);
    db.run('DELETE FROM tasks WHERE run_id = ?', [runId]);
    insertTaskRows(db, runId, plan.tasks, at, () => 'pending');
    db.run('UPDATE runs SET updated_at = ? WHERE id = ?', [at, runId]);
    emit(db, events, { at, actor: input.actor ?? 'user', kind: 'run/draft-edited', runId, data: { ...input.edit, tasks: plan.tasks.length } });
  });
}

/**
 * Moves a valid draft to `running`: tasks without dependencies become `ready`, the run takes
 * the current tip as its base commit and the approval mode chosen at start. Throws
 * `plan/invalid` naming every validator error (a cycle, for one) and writes nothing then.
 */
export function promoteDraft(db: Db, onEvent: OnEvent | undefined, input: { runId: string; at: number; baseCommit: string; approve?: 'none' | 'all'; maxTasks: number }): void {
  const { runId, at } = input;
  commitWithEvents(db, onEvent, (events) => {
    const plan = getDraftPlan(db, runId);
    const { errors } = checkDraft(plan, input.maxTasks);
    if (errors.length > 0) throw new EngineError('plan/invalid', `the draft cannot start: ${errors.join('; ')}`);
    db.run('UPDATE runs SET base_commit = ?, approve = COALESCE(?, approve) WHERE id = ?', [input.baseCommit, input.approve ?? null, runId]);
    for (const t of plan.tasks) {
      if (t.dependsOn.length === 0) transitionTask(db, events, { runId, taskId: t.id, from: ['pending'], to: 'ready', at, actor: 'user', reason: 'the draft was started' });
    }
    transitionRun(db, events, runId, 'running', at, { actor: 'user', reason: 'the draft was started' });
  });
}
