import type { NewComment, RunnablePlan } from '../api';
import { reviewChange } from '../agents/reviewer';
import type { AgentTask, ChangeFeedback } from '../agents/types';
import { checkComment, insertComment, markAnswered, markSent, markUnsent, pendingComments } from '../changes/comments';
import { requireChange, reviseChange } from '../changes/lifecycle';
import { repoPolicyInputs } from '../changes/repoPolicy';
import type { Role } from '../config';
import { EngineError } from '../errors';
import { applyPatchToTree, readBlobAt } from '../git/plumbing';
import { recordingClient } from '../runs/modelCalls';
import { commitWithEvents } from '../runs/runs';
import type { TaskRow } from '../runs/types';
import { agentChoiceFor } from '../schedule/agentChoice';
import { redoWithBuiltinDeveloper } from '../schedule/builtinDeveloper';
import { checkPolicy } from '../schedule/policy';
import { runHarnessTask } from '../schedule/runHarnessTask';
import type { EngineContext } from './context';

/** Changes being revised by this engine now: a second Request Changes on one waits its turn. */
const revising = new Set<string>();

/**
 * Request Changes: the change's unsent comments (with `comments`, stored first) go to the
 * task's agent as feedback on its current version; the agent redoes the change from the same
 * base (the built-in developer, or the task's configured agent in a worktree with the same
 * feedback in its prompt), the policy and the reviewer look at it again, and it becomes the
 * next version, waiting for review. The comments are marked answered by that version.
 *
 * On any failure the comments stay stored and unsent, and the change stays as it was.
 * Throws: see `Engine.requestChanges`.
 */
export async function requestChanges(
  ctx: EngineContext,
  changeId: string,
  o: { comments?: NewComment[]; version?: number; signal?: AbortSignal } = {},
): Promise<{ version: number }> {
  const { db, clock, config, log, repo } = ctx;
  if (revising.has(changeId)) throw new EngineError('usage/bad-state', `change ${changeId} is already being revised by its agent`);
  const c = requireChange(db, changeId);
  if (c.status !== 'proposed') throw new EngineError('usage/bad-state', `change ${changeId} is ${c.status}, not waiting for review`);
  if (o.version !== undefined && c.version !== o.version) throw new EngineError('usage/bad-state', `change ${changeId} is now v${c.version}; you reviewed v${o.version}`);
  const files = JSON.parse(c.files_json) as string[];
  for (const cm of o.comments ?? []) checkComment(cm, files);
  const planned = (db.get<{ plan_json: string }>('SELECT plan_json FROM plans WHERE run_id = ?', [c.run_id])?.plan_json ?? '');
  const task = planned ? (JSON.parse(planned) as RunnablePlan).tasks.find((t) => t.id === c.task_id) : undefined;
  const row = db.get<TaskRow>('SELECT * FROM tasks WHERE run_id = ? AND id = ?', [c.run_id, c.task_id]);
  if (!task || !row) throw new EngineError('usage/unsupported', `change ${changeId} has no stored task to send comments to`);
  if (task.patch !== undefined) throw new EngineError('usage/unsupported', 'this change is a ready-made patch from a request file: there is no agent to send comments to');

  // The comments are kept even when the agent fails, so nothing the user wrote is lost.
  const at = clock.now();
  const sent = commitWithEvents(db, ctx.onEvent, () => {
    for (const cm of o.comments ?? []) insertComment(db, { changeId, version: c.version, comment: cm, at });
    const pending = pendingComments(db, changeId);
    if (pending.length === 0) throw new EngineError('usage/empty-comment', 'there is no comment to send: write one on a line or on the whole change first');
    markSent(db, pending.map((p) => p.id), c.version);
    return pending;
  });
  const ids = sent.map((s) => s.id);
  revising.add(changeId);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new EngineError('cancelled', 'the revision timed out')), config.taskTimeoutMs);
  const signal = o.signal ? AbortSignal.any([o.signal, controller.signal]) : controller.signal;
  try {
    const feedback: ChangeFeedback = {
      version: c.version, previousPatch: c.patch,
      comments: await quoteLines(repo, c, sent),
    };
    const agentTask: AgentTask = {
      runId: c.run_id, id: c.task_id, title: task.title, type: task.type as Role, prompt: task.prompt,
      acceptanceCriteria: task.acceptanceCriteria, dependsOn: task.dependsOn, files: task.files, feedback,
    };
    const client = recordingClient(db, ctx.client, clock, { runId: c.run_id, taskId: c.task_id, generation: 2000 + c.version }, ctx.onEvent);
    const agent = agentChoiceFor(config, task);
    const out = agent
      ? await runHarnessTask({ repo, config, log, row, task: agentTask, base: { baseCommit: Promise.resolve(c.base_commit), baseTree: c.base_commit, deps: [] }, agent: agent.name, model: agent.model, signal })
      : await redoWithBuiltinDeveloper({ repo, config, log, client, row, task: agentTask, baseCommit: c.base_commit, signal, verify: task.verify });
    if (out.patch.trim() === '') throw new EngineError('agent/model-output', 'the agent answered the comments with an empty change');
    const inputs = await repoPolicyInputs(repo, { baseTree: c.base_commit, tree: out.tree, patch: out.patch, signal });
    const policy = checkPolicy(out.patch, { protectedPaths: config.protectedPaths, maxPatchBytes: config.maxPatchBytes, ...inputs });
    if (policy.blocked) throw new EngineError('policy/blocked', `the revised change breaks the patch policy: ${policy.violations.filter((v) => v.severity === 'block').map((v) => v.message).join(' ')}`);
    const review = await reviewChange({ task: agentTask, summary: out.summary, patch: out.patch, client, signal, log, verification: out.verification });
    const done = clock.now();
    const version = commitWithEvents(db, ctx.onEvent, (events) => {
      const v = reviseChange(db, events, {
        changeId, expectedVersion: c.version, summary: out.summary, at: done,
        review: review.verdict ? { verdict: review.verdict, comments: review.comments } : null,
        reason: `changes requested (${sent.length} comment${sent.length === 1 ? '' : 's'})`,
        next: { patch: out.patch, files: policy.files, policyJson: JSON.stringify(policy.violations), needsExplicitApproval: policy.needsExplicitApproval, verification: out.verification },
      });
      markAnswered(db, ids, v, out.summary);
      return v;
    });
    return { version };
  } catch (e) {
    commitWithEvents(db, ctx.onEvent, () => markUnsent(db, ids));
    throw e;
  } finally {
    clearTimeout(timer);
    revising.delete(changeId);
  }
}

/** Each line comment with the line it is on, so the agent sees what the reviewer saw. */
async function quoteLines(repo: string, c: { base_commit: string; patch: string }, comments: readonly NewComment[]): Promise<ChangeFeedback['comments']> {
  const onLines = comments.filter((cm) => cm.path !== undefined && cm.line !== undefined);
  const tree = onLines.length > 0 ? await applyPatchToTree(repo, c.base_commit, c.patch) : undefined;
  const texts = new Map<string, string[] | undefined>();
  for (const cm of onLines) if (!texts.has(cm.path!)) texts.set(cm.path!, (await readBlobAt(repo, tree!, cm.path!))?.split('\n'));
  return comments.map((cm) => {
    const lineText = cm.path !== undefined && cm.line !== undefined ? texts.get(cm.path)?.[cm.line - 1] : undefined;
    return { body: cm.body, ...(cm.path !== undefined ? { path: cm.path } : {}), ...(cm.line !== undefined ? { line: cm.line } : {}), ...(lineText !== undefined ? { lineText } : {}) };
  });
}
