import type { RunView, StartRunOptions } from '../api';
import { revParse } from '../git/exec';
import { promoteDraft } from '../runs/draft';
import type { EngineContext } from './context';

/**
 * Start Run on a draft: validates it once more (`plan/invalid` while it has a cycle), moves it
 * to `running` from the current tip, and starts its run loop. `done` resolves when the run
 * settles, as for `startRun`.
 */
export async function startDraft(ctx: EngineContext, runId: string, opts: StartRunOptions = {}): Promise<{ runId: string; done: Promise<RunView> }> {
  const baseCommit = await revParse(ctx.repo, ctx.queue.targetRef());
  promoteDraft(ctx.db, ctx.onEvent, { runId, at: ctx.clock.now(), baseCommit, approve: opts.approve, maxTasks: ctx.config.planner.maxTasks });
  return { runId, done: ctx.startRunLoop(runId, opts.signal) };
}
