import type { RunnablePlan } from '../api';
import { revParse } from '../git/exec';
import { createRun } from '../runs/runs';
import type { EngineContext } from './context';

/**
 * Stores a plan as a draft run: it shows in the views like any run, every task waits and no
 * agent starts until `startDraft`. The base commit is taken again when the draft starts.
 * Throws what `createRun` throws (`usage/bad-plan`, `usage/too-large`).
 */
export async function draftRun(ctx: EngineContext, plan: RunnablePlan, opts: { approve?: 'none' | 'all' } = {}): Promise<string> {
  const baseCommit = await revParse(ctx.repo, ctx.queue.targetRef());
  return createRun(ctx.db, {
    goal: plan.goal, repo: ctx.repo, baseCommit, targetRef: ctx.queue.targetRef(), plan,
    approve: opts.approve ?? 'none', clock: ctx.clock, onEvent: ctx.onEvent, draft: true,
  });
}
