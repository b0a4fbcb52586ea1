import type { RunnablePlan } from '../api';
import { reviewChange } from '../agents/reviewer';
import type { AgentTask } from '../agents/types';
import { checkPatchPolicy } from '../changes/policy';
import { repoPolicyInputs } from '../changes/repoPolicy';
import type { Role } from '../config';
import { EngineError } from '../errors';
import type { RegeneratedChange, RegenerateRequest } from '../queue/types';
import { recordingClient } from '../runs/modelCalls';
import type { TaskRow } from '../runs/types';
import { redoWithBuiltinDeveloper } from '../schedule/builtinDeveloper';
import type { EngineContext } from './context';

/**
 * The merge queue's `regenerate`: the task's developer agent runs again from the new tip with
 * the conflicting paths named, and the reviewer looks at the new patch. The queue then sends
 * the change back to review (an approval never carries over to another patch). Undefined when
 * the change has no agent to re-run (a ready-made patch from a request file) or the new patch
 * breaks a rule the old one did not.
 */
export async function regenerateChange(ctx: Omit<EngineContext, 'queue'>, req: RegenerateRequest): Promise<RegeneratedChange | undefined> {
  const { db, config, log, clock } = ctx;
  const c = db.get<{ run_id: string; task_id: string; patch: string }>('SELECT run_id, task_id, patch FROM change_requests WHERE id = ?', [req.changeId]);
  if (!c) return undefined;
  const plan = db.get<{ plan_json: string }>('SELECT plan_json FROM plans WHERE run_id = ?', [c.run_id]);
  const planned = plan ? (JSON.parse(plan.plan_json) as RunnablePlan).tasks.find((t) => t.id === c.task_id) : undefined;
  const row = db.get<TaskRow>('SELECT * FROM tasks WHERE run_id = ? AND id = ?', [c.run_id, c.task_id]);
  if (!planned || !row || planned.patch !== undefined) return undefined;
  const task: AgentTask = {
    runId: c.run_id,
    id: c.task_id,
    title: planned.title,
    type: planned.type as Role,
    prompt: `${planned.prompt}\n\nYour earlier change conflicted with newer commits in: ${req.conflictPaths.join(', ')}. Redo the change on top of the current files.`,
    acceptanceCriteria: planned.acceptanceCriteria,
    dependsOn: planned.dependsOn,
    files: [...new Set([...planned.files, ...req.conflictPaths])],
  };
  const conflicts = db.get<{ n: number }>("SELECT COUNT(*) AS n FROM events WHERE kind = 'queue/state' AND to_state = 'conflicted' AND subject_id IN (SELECT id FROM queue_entries WHERE change_id = ?)", [req.changeId])?.n ?? 0;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new EngineError('cancelled', 'regeneration timed out')), config.taskTimeoutMs);
  try {
    // One generation per conflict, so a crash mid-regeneration replays what was paid for.
    const client = recordingClient(db, ctx.client, clock, { runId: c.run_id, taskId: c.task_id, generation: 1000 + conflicts });
    const out = await redoWithBuiltinDeveloper({ repo: ctx.repo, config, log, client, row, task, baseCommit: req.newTip, signal: controller.signal, verify: planned.verify });
    if (out.patch.trim() === '') return undefined;
    // The same repository-bound rules as the first proposal: hooks folder, lifecycle scripts.
    const options = {
      protectedPaths: config.protectedPaths, maxPatchBytes: config.maxPatchBytes,
      ...(await repoPolicyInputs(ctx.repo, { baseTree: req.newTip, tree: out.tree, patch: out.patch, signal: controller.signal })),
    };
    const before = new Set(checkPatchPolicy(c.patch, options).files);
    const report = checkPatchPolicy(out.patch, options);
    const fresh = report.violations.filter((v) => v.severity === 'block' || (v.path !== undefined && !before.has(v.path)));
    if (fresh.length > 0) {
      log.warn('regenerated change refused by policy', { changeId: req.changeId, rule: fresh[0].rule, path: fresh[0].path });
      return undefined;
    }
    const review = await reviewChange({ task, summary: out.summary, patch: out.patch, client, signal: controller.signal, log, verification: out.verification });
    return {
      patch: out.patch, baseCommit: req.newTip, summary: out.summary, review: review.verdict ? { verdict: review.verdict, comments: review.comments } : null,
      ...(out.verification ? { verification: out.verification } : {}),
    };
  } finally {
    clearTimeout(timer);
  }
}
