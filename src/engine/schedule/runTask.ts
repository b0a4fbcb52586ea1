import type { ChangeVerification } from '../api';
import { toolDeveloperHarness } from '../agents/builtin/toolDeveloper';
import { BUILTIN_DEVELOPER } from '../agents/harness';
import { runDeveloper } from '../agents/developer';
import { reviewChange, type ReviewResult } from '../agents/reviewer';
import type { AgentTask } from '../agents/types';
import type { Role } from '../config';
import { EngineError, describeError } from '../errors';
import type { PatchPolicyOptions } from '../changes/policy';
import { hooksPathRisksOf, repoPolicyInputs } from '../changes/repoPolicy';
import { parsesAsGiven, resolvePatch } from '../changes/resolve';
import { insertChange } from '../changes/lifecycle';
import type { EngineEvent } from '../events';
import { applyAndDiff } from '../git/batch';
import { recordAgentAttempt } from '../runs/agentAttempts';
import { recordingClient, type RecordingClient } from '../runs/modelCalls';
import { commitWithEvents, getStoredPlan, newId, transitionTask } from '../runs/runs';
import type { RunRow, TaskRow } from '../runs/types';
import { planTaskOfRow } from '../runs/views';
import type { Db } from '../store/types';
import { buildTaskBase, rememberResultTree } from './baseTree';
import type { AgentChoice } from './agentChoice';
import { runHarnessTask, type HarnessTaskInput } from './runHarnessTask';
import { inProcessExecutor } from './executor';
import type { TaskGraph } from './runIndex';
import { blockingReason, checkPolicy, type PolicyReport } from './policy';
import { DEFAULT_BACKOFF, TaskStop, backoffDelay, categorize, sleep, type ErrorCategory } from './retry';
import type { RunPlanDeps } from './scheduler';
import { report, timedClient } from './spans';

/** What one task needs: the run's dependencies minus the run-wide signal (each task gets its own). */
export type TaskRunDeps = Omit<RunPlanDeps, 'signal'>;

interface TaskOutput {
  baseCommit: string;
  patch: string;
  /** The tree `patch` leads to from the task's base tree; undefined when blocked by policy. */
  tree: string | undefined;
  /** The task's base tree (`patch` is relative to it). */
  baseTree?: string;
  summary: string;
  model: string | null;
  review: ReviewResult | null;
  /** The policy's inputs for this change, repository-bound ones included (hooks folder, package.json contents). */
  policyOptions: PatchPolicyOptions;
  /** The policy's verdict on `patch` with `policyOptions`: evaluated once, here, and stored with the change. */
  policy: PolicyReport;
  /** The change's own check in the task's worktree (the tool developer). */
  verification?: ChangeVerification;
}

function toAgentTask(row: TaskRow): AgentTask {
  return { ...planTaskOfRow(row), runId: row.run_id, type: row.type as Role };
}

/**
 * Attempts of this task that ended in a way a plain replay would repeat (see
 * ModelCallScope.generation), and its changes the user set aside (rejected, then retried): a
 * retry asks afresh. The tool developer's first request names no file contents, so only this
 * tells a retry from the attempt whose change was turned down.
 */
function generationOf(db: Db, runId: string, taskId: string): number {
  const r = db.get<{ n: number }>(
    `SELECT (SELECT COUNT(*) FROM attempts WHERE run_id = ? AND task_id = ? AND error_category IN ('model-output', 'permanent'))
          + (SELECT COUNT(*) FROM change_requests WHERE run_id = ? AND task_id = ? AND status = 'superseded') AS n`,
    [runId, taskId, runId, taskId],
  );
  return r?.n ?? 0;
}

async function produce(deps: TaskRunDeps, run: RunRow, row: TaskRow, graph: TaskGraph, readyPatch: string | undefined, client: RecordingClient, signal: AbortSignal, agent: AgentChoice | undefined, attempt: number): Promise<TaskOutput> {
  const { db, repo, config } = deps;
  const base = await buildTaskBase(db, repo, { id: run.id, base_commit: run.base_commit!, created_at: run.created_at }, row, graph, signal);
  const task = toAgentTask(row);
  if (readyPatch !== undefined) return produceReadyMade(deps, row, base, readyPatch, signal);
  // A task that names an agent runs it in a worktree of its own (issue 10), here or on a worker;
  // so does the tool developer (issue 11); the rest is the same.
  const executor = deps.executor ?? inProcessExecutor;
  const hooks = agentAttemptHooks(deps, row, attempt);
  const out: { patch: string; tree: string; summary: string; model?: string; verification?: ChangeVerification } = agent !== undefined
    ? await executor.runAgentTask({ repo, config, log: deps.log, row, task, base, agent: agent.name, model: agent.model, signal, attempt, ...hooks })
    : config.developer === 'tools'
      ? await runHarnessTask({
        // Its model calls are booked by the model client as they happen: only its progress and
        // transcript are wired here, never its usage a second time.
        repo, config, log: deps.log, row, task, base, agent: BUILTIN_DEVELOPER, signal, onProgress: hooks.onProgress,
        onAttemptEnd: (end) => hooks.onAttemptEnd?.({ ...end, usage: null, costUsd: 0 }),
        builtin: toolDeveloperHarness({ repo, client, config, log: deps.log, verify: verifyOf(deps, run.id, row.id) }),
      })
      : await runDeveloper({ repo, task, baseTree: base.baseTree, deps: base.deps, client, maxSteps: config.agentMaxSteps, signal, log: deps.log });
  const policyOptions = { ...basePolicy(config), ...(await repoPolicyInputs(repo, { baseTree: base.baseTree, tree: out.tree, patch: out.patch, signal })) };
  const policy = policyOf(deps)(out.patch, policyOptions);
  const review = policy.blocked ? null : await reviewChange({ task, summary: out.summary, patch: out.patch, client, signal, log: deps.log, verification: out.verification });
  return { baseCommit: await base.baseCommit, baseTree: base.baseTree, patch: out.patch, tree: out.tree, summary: out.summary, model: out.model || null, review, policyOptions, policy, ...(out.verification ? { verification: out.verification } : {}) };
}

/** The plan's `verify` command for a task (only the tool developer reads it). */
function verifyOf(deps: TaskRunDeps, runId: string, taskId: string): string | undefined {
  return getStoredPlan(deps.db, runId)?.tasks.find((t) => t.id === taskId)?.verify;
}

function policyOf(deps: TaskRunDeps): typeof checkPolicy {
  return deps.checkPolicy ?? checkPolicy;
}

/**
 * What an agent attempt needs from the run: the keys Hyperion holds, what is left of the run's
 * budget, where its progress goes (a live `task/progress` event, not written to the audit log:
 * it is only what the row shows now) and where its transcript and usage are stored.
 */
function agentAttemptHooks(deps: TaskRunDeps, row: TaskRow, attempt: number): Pick<HarnessTaskInput, 'secrets' | 'maxUsd' | 'onProgress' | 'onAttemptEnd'> {
  const { db, config } = deps;
  const spent = db.get<{ cost_usd: number }>('SELECT cost_usd FROM runs WHERE id = ?', [row.run_id])?.cost_usd ?? 0;
  return {
    secrets: deps.secrets,
    maxUsd: config.budgetUsd !== undefined ? config.budgetUsd - spent : undefined,
    onProgress: (text) => deps.onEvent?.({ at: deps.clock.now(), actor: 'agent', kind: 'task/progress', runId: row.run_id, taskId: row.id, data: { text } }),
    onAttemptEnd: (end) => recordAgentAttempt(db, deps.onEvent, { runId: row.run_id, taskId: row.id, attempt, ...end, at: deps.clock.now() }),
  };
}

function basePolicy(config: TaskRunDeps['config']): PatchPolicyOptions {
  return { protectedPaths: config.protectedPaths, maxPatchBytes: config.maxPatchBytes };
}

/**
 * A ready-made patch (headless TaskRequest): no model call, the same policy as agent output.
 * What lands is exactly what `git apply` makes of the patch as given; it is repaired only when
 * it does not apply, and the repair is used only when it applies (`resolvePatch`). The size
 * limit comes before any parsing, and a patch we can read is checked before git sees it, so a
 * hostile patch is `rejected` with its rule named instead of failing on whatever git says.
 */
async function produceReadyMade(deps: TaskRunDeps, row: TaskRow, base: Awaited<ReturnType<typeof buildTaskBase>>, readyPatch: string, signal: AbortSignal): Promise<TaskOutput> {
  const { repo, config } = deps;
  const check = policyOf(deps);
  const highRiskPaths = await hooksPathRisksOf(repo, signal);
  const policyOptions: PatchPolicyOptions = { ...basePolicy(config), highRiskPaths };
  const baseCommit = await base.baseCommit;
  const rejected = (patch: string, policy: PolicyReport): TaskOutput => ({ baseCommit, patch, tree: undefined, summary: row.title, model: null, review: null, policyOptions, policy });
  if (Buffer.byteLength(readyPatch, 'utf8') > config.maxPatchBytes) return rejected(readyPatch, check(readyPatch, policyOptions));
  if (parsesAsGiven(readyPatch)) {
    const given = check(readyPatch, policyOptions);
    if (given.blocked) return rejected(readyPatch, given);
  }
  const r = await resolvePatch(readyPatch, async (text) => {
    const a = await applyAndDiff(repo, base.baseTree, text, { signal });
    return a.ok ? { ok: true, value: a } : a;
  });
  if (r.kind === 'does-not-apply') {
    if (r.repaired) {
      const repaired = check(r.repaired.patch, policyOptions);
      if (repaired.blocked) return rejected(r.repaired.patch, repaired);
    }
    throw new EngineError('patch/does-not-apply', `the ready-made patch does not apply: ${r.error}`);
  }
  // git's own diff of what applied: the text the queue later lands, readable without repair.
  const { patch, tree } = r.value;
  const inputs = await repoPolicyInputs(repo, { baseTree: base.baseTree, tree, patch, signal, highRiskPaths });
  const options = { ...policyOptions, ...inputs };
  return { baseCommit, baseTree: base.baseTree, patch, tree, summary: row.title, model: null, review: null, policyOptions: options, policy: check(patch, options) };
}

/** Stores the change and settles the task in one transaction. Returns the change id, or undefined when the task was settled meanwhile. */
function storeChange(deps: TaskRunDeps, row: TaskRow, attemptId: number, out: TaskOutput, client: RecordingClient): { changeId: string; proposed: boolean } | undefined {
  const { db } = deps;
  const at = deps.clock.now();
  const policy = out.policy;
  const error = blockingReason(policy);
  const changeId = newId('ch');
  // A change that failed its own check is never offered as done: approve-all skips it.
  const checkFailed = out.verification?.passed === false;
  return commitWithEvents(db, deps.onEvent, (events) => {
    // The review's model call is stored here, with the change it reviewed (one durable write).
    client.flushDeferred(events);
    const to = policy.blocked ? 'rejected' : 'proposed';
    const moved = transitionTask(db, events, {
      runId: row.run_id, taskId: row.id, from: ['running'], to, at, actor: 'agent',
      summary: out.summary, error: error === null ? null : `policy: ${error}`, finishedAt: at,
      reason: policy.blocked ? `blocked by policy: ${error}` : undefined, data: { changeId },
    });
    if (!moved) return undefined;
    const usage = db.get<{ i: number; o: number; c: number }>(
      'SELECT COALESCE(SUM(input_tokens), 0) AS i, COALESCE(SUM(output_tokens), 0) AS o, COALESCE(SUM(cost_usd), 0) AS c FROM model_calls WHERE run_id = ? AND task_id = ?',
      [row.run_id, row.id],
    )!;
    insertChange(db, events, {
      id: changeId, runId: row.run_id, taskId: row.id, baseCommit: out.baseCommit, patch: out.patch, files: policy.files, summary: out.summary, model: out.model,
      usage: { input: usage.i, output: usage.o, costUsd: usage.c }, review: out.review,
      needsExplicitApproval: policy.needsExplicitApproval || checkFailed, policyJson: JSON.stringify(policy.violations), status: to, error, at,
      ...(out.verification ? { verification: out.verification } : {}),
    });
    db.run(`UPDATE attempts SET status = 'ok', finished_at = ? WHERE id = ?`, [at, attemptId]);
    return { changeId, proposed: !policy.blocked };
  });
}

/**
 * Starts the first attempt of a `ready` task inside the caller's transaction: `running` with
 * its `task/state` event, and an open `attempts` row. Undefined (nothing written) when the
 * task is no longer `ready`. The scheduler starts tasks in the same transaction as it
 * promotes them, so a start costs no durable write of its own.
 */
export function beginFirstAttempt(db: Db, events: EngineEvent[], row: TaskRow, at: number): StartedAttempt | undefined {
  if (!transitionTask(db, events, { runId: row.run_id, taskId: row.id, from: ['ready'], to: 'running', at, startedAt: at, error: null })) return undefined;
  return openAttempt(db, row, at);
}

export interface StartedAttempt {
  attemptId: number;
  n: number;
}

function openAttempt(db: Db, row: TaskRow, at: number): StartedAttempt | undefined {
  const cur = db.get<{ attempts: number }>('SELECT attempts FROM tasks WHERE run_id = ? AND id = ?', [row.run_id, row.id]);
  if (!cur) return undefined;
  const n = cur.attempts + 1;
  db.run('UPDATE tasks SET attempts = ?, updated_at = ? WHERE run_id = ? AND id = ?', [n, at, row.run_id, row.id]);
  const r = db.run(`INSERT INTO attempts (run_id, task_id, n, status, started_at) VALUES (?, ?, ?, 'running', ?)`, [row.run_id, row.id, n, at]);
  return { attemptId: r.lastInsertRowid, n };
}

/** A retry: a new attempt of a task that is still `running`. */
function startRetry(deps: TaskRunDeps, row: TaskRow): StartedAttempt | undefined {
  const { db } = deps;
  const at = deps.clock.now();
  return commitWithEvents(db, deps.onEvent, () => {
    const cur = db.get<{ status: string }>('SELECT status FROM tasks WHERE run_id = ? AND id = ?', [row.run_id, row.id]);
    if (cur?.status !== 'running') return undefined;
    return openAttempt(db, row, at);
  });
}

function endAttempt(deps: TaskRunDeps, row: TaskRow, attemptId: number, category: ErrorCategory, message: string, settle: 'failed' | 'cancelled' | null, client: RecordingClient): void {
  const { db } = deps;
  const at = deps.clock.now();
  commitWithEvents(db, deps.onEvent, (events) => {
    client.flushDeferred(events);
    db.run(`UPDATE attempts SET status = 'error', error_category = ?, error = ?, finished_at = ? WHERE id = ?`, [category, message, at, attemptId]);
    if (settle !== null) {
      transitionTask(db, events, { runId: row.run_id, taskId: row.id, from: ['running'], to: settle, at, error: message, finishedAt: at, reason: `${category}: ${message}`, data: { category } });
    }
  });
}

/**
 * Runs one task to a settled state: attempts with backoff for transient failures, then a
 * change request (`proposed`, or `rejected` by policy), or `failed` / `cancelled`.
 * `first` is the attempt the scheduler already opened (`beginFirstAttempt`).
 * `signal` is the task's own (timeout, cancel, skip and run cancel all abort it with a TaskStop).
 * `agent`: the configured agent that runs the task when it has no ready-made patch (else the built-in developer).
 * Never throws: every failure is recorded on the task and its attempts.
 */
export async function runTask(deps: TaskRunDeps, run: RunRow, row: TaskRow, graph: TaskGraph, readyPatch: string | undefined, first: StartedAttempt, signal: AbortSignal, agent?: AgentChoice): Promise<void> {
  const backoff = deps.backoff ?? DEFAULT_BACKOFF;
  let retries = 0;
  for (let attempt: StartedAttempt | undefined = first; attempt; attempt = startRetry(deps, row)) {
    const spanStart = performance.now();
    const scope = { runId: run.id, taskId: row.id };
    // A new client per attempt: the generation counts the attempts that failed before it.
    const client = recordingClient(deps.db, timedClient(deps.client, deps.onTaskSpan, scope), deps.clock, { runId: run.id, taskId: row.id, generation: generationOf(deps.db, run.id, row.id) }, deps.onEvent, {
      defer: (role) => role === 'reviewer',
    });
    try {
      const out = await produce(deps, run, row, graph, readyPatch, client, signal, agent, attempt.n);
      if (signal.aborted) throw signal.reason;
      const stored = storeChange(deps, row, attempt.attemptId, out, client);
      if (!stored) {
        endAttempt(deps, row, attempt.attemptId, 'cancelled', 'the task was settled elsewhere while it ran', null, client);
        return;
      }
      if (stored.proposed && out.tree !== undefined) rememberResultTree(deps.repo, stored.changeId, out.baseCommit, out.patch, out.tree, out.baseTree);
      if (stored.proposed && deps.onChangeProposed) {
        try {
          await deps.onChangeProposed(stored.changeId);
        } catch (e) {
          deps.log.warn('onChangeProposed failed', { changeId: stored.changeId, error: describeError(e) });
        }
      }
      report(deps.onTaskSpan, { kind: 'task', ...scope, start: spanStart, end: performance.now() });
      return;
    } catch (e) {
      const stop = signal.aborted && signal.reason instanceof TaskStop ? signal.reason : undefined;
      let category: ErrorCategory;
      let message: string;
      if (stop) {
        category = stop.kind === 'timeout' ? 'transient' : 'cancelled';
        message = stop.message;
      } else {
        category = categorize(e);
        message = describeError(e);
      }
      const retry = !stop && category === 'transient' && retries < deps.config.maxRetries;
      deps.log.warn('task attempt failed', { runId: row.run_id, taskId: row.id, attempt: attempt.n, category, error: message, retry });
      if (!retry) {
        const settle = stop?.kind === 'skipped' ? null : stop && stop.kind !== 'timeout' ? 'cancelled' : category === 'cancelled' ? 'cancelled' : 'failed';
        endAttempt(deps, row, attempt.attemptId, category, message, settle, client);
        return;
      }
      endAttempt(deps, row, attempt.attemptId, category, message, null, client);
      try {
        await sleep(backoffDelay(retries++, backoff), signal);
      } catch {
        const s = signal.reason instanceof TaskStop ? signal.reason : new TaskStop('cancelled', 'cancelled');
        commitWithEvents(deps.db, deps.onEvent, (events) => {
          const at = deps.clock.now();
          const to = s.kind === 'timeout' ? 'failed' : 'cancelled';
          if (s.kind !== 'skipped') transitionTask(deps.db, events, { runId: row.run_id, taskId: row.id, from: ['running'], to, at, error: s.message, finishedAt: at, reason: s.message });
        });
        return;
      }
    }
  }
}
