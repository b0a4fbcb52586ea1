import type {
  Engine, PlanOptions, QueueSummary, RunView, RunnablePlan, StartRunOptions,
} from './api';
import { runDeveloper } from './agents/developer';
import type { AgentTask } from './agents/types';
import { excludeFiles } from './changes/patch';
import { checkPatchPolicy } from './changes/policy';
import type { EngineConfig, Role } from './config';
import { Emitter, type EngineEvent } from './events';
import { EngineError, describeError, isEngineError } from './errors';
import { git, revParse } from './git/exec';
import { applyPatchToTree, readBlobAt } from './git/plumbing';
import { planGoal } from './plan/planner';
import type { Clock, Logger, SecretReader, UserPrompt } from './ports';
import { systemClock } from './ports';
import { createModelClient, type ModelClient } from './providers/modelClient';
import { createProviderRegistry } from './providers/router';
import type { ChatProvider, LanguageModelPort, ProviderKind } from './providers/types';
import { createMergeQueue } from './queue/mergeQueue';
import type { MergeQueue, RegenerateRequest } from './queue/types';
import { recordingClient } from './runs/modelCalls';
import { recoverRuns } from './runs/recovery';
import { commitWithEvents, createRun, dependentsOf, emit, getTaskRows, transitionTask } from './runs/runs';
import { getChangeView, getRunView, history, listChangeViews, listRunViews } from './runs/views';
import { cancelRun as cancelActiveRun } from './schedule/registry';
import type { BackoffOptions } from './schedule/retry';
import { runPlan, skipDependents } from './schedule/scheduler';
import { openDb } from './store/db';
import { stateDirFor } from './store/location';
import type { Db } from './store/types';

export interface EnginePorts {
  log: Logger;
  clock?: Clock;
  secrets: SecretReader;
  ask?: UserPrompt;
  lm?: LanguageModelPort;
}

export interface CreateEngineOptions {
  repo: string;
  config: EngineConfig;
  ports: EnginePorts;
  /** Default `<git common dir>/hyperion`. */
  stateDir?: string;
  /** Continue runs that were interrupted (the extension does; one-shot CLI commands do not). */
  resumeRuns?: boolean;
  /** Land approved changes in the background as soon as they are approved (the extension). */
  autoLand?: boolean;
  /** True when the editor holds unsaved edits to a repo-relative path. */
  isPathDirtyInEditor?: (path: string) => boolean;
  /** Replace providers (tests, benchmarks). */
  providerOverrides?: Partial<Record<ProviderKind, ChatProvider>>;
  /** Backoff between a task's attempts after transient failures (default 1 s doubling to 30 s). */
  taskBackoff?: BackoffOptions;
}

/**
 * The composition root: opens the store, recovers what a crash left behind, and wires the
 * planner, the scheduler and the merge queue behind the `Engine` facade.
 *
 * Throws `usage/not-a-repo` when `repo` is not inside a git work tree, and `store/…` errors
 * when the state folder cannot be opened. The caller owns the engine and must `dispose()` it.
 */
export async function createEngine(opts: CreateEngineOptions): Promise<Engine> {
  const { config } = opts;
  const log = opts.ports.log;
  const clock = opts.ports.clock ?? systemClock;
  const top = await git(['rev-parse', '--show-toplevel'], { cwd: opts.repo, check: false }).catch(() => undefined);
  if (!top || top.code !== 0) throw new EngineError('usage/not-a-repo', `"${opts.repo}" is not inside a git repository`);
  const repo = top.stdout.trim();
  const db = await openDb({ dir: opts.stateDir ?? (await stateDirFor(repo)), log });
  const emitter = new Emitter<EngineEvent>();
  const onEvent = (e: EngineEvent) => emitter.fire(e);
  const registry = createProviderRegistry({ config, secrets: opts.ports.secrets, lm: opts.ports.lm, log, overrides: opts.providerOverrides });
  const client = createModelClient({ registry, config, log, clock });
  const runs = new Map<string, { controller: AbortController; done: Promise<RunView> }>();

  const regenerate = async (req: RegenerateRequest) => regenerateChange(db, repo, client, config, log, clock, req);
  let queue: MergeQueue;
  try {
    queue = createMergeQueue({ db, repo, config, log, clock, onEvent, regenerate, isPathDirtyInEditor: opts.isPathDirtyInEditor });
    recoverRuns(db, clock, onEvent);
    await queue.recover();
  } catch (e) {
    db.close();
    throw e;
  }

  // One background landing loop at a time; a request while it runs schedules one more pass.
  let landing: Promise<void> | undefined;
  let landAgain = false;
  const disposeController = new AbortController();
  function kickQueue(): Promise<void> {
    if (landing) {
      landAgain = true;
      return landing;
    }
    landing = (async () => {
      do {
        landAgain = false;
        await queue.runUntilIdle(disposeController.signal);
      } while (landAgain && !disposeController.signal.aborted);
    })()
      .catch((e) => {
        if (!isEngineError(e, 'cancelled')) log.error('merge queue stopped', { error: describeError(e) });
      })
      .finally(() => {
        landing = undefined;
      });
    return landing;
  }

  function changeRow(changeId: string) {
    const c = db.get<{ id: string; run_id: string; task_id: string; status: string; needs_explicit_approval: number; base_commit: string; patch: string; excluded_files_json: string }>(
      'SELECT id, run_id, task_id, status, needs_explicit_approval, base_commit, patch, excluded_files_json FROM change_requests WHERE id = ?',
      [changeId],
    );
    if (!c) throw new EngineError('usage/unknown-change', `there is no change request "${changeId}"`);
    return c;
  }

  /** The latest live change of each dependency, so the queue lands them first. */
  function dependencyChangeIds(runId: string, taskId: string): string[] {
    const task = db.get<{ depends_json: string }>('SELECT depends_json FROM tasks WHERE run_id = ? AND id = ?', [runId, taskId]);
    const deps = task ? (JSON.parse(task.depends_json) as string[]) : [];
    return deps.flatMap((d) => {
      const r = db.get<{ id: string }>(
        "SELECT id FROM change_requests WHERE run_id = ? AND task_id = ? AND status NOT IN ('superseded') ORDER BY created_at DESC LIMIT 1",
        [runId, d],
      );
      return r ? [r.id] : [];
    });
  }

  async function approve(changeId: string, o: { excludeFiles?: string[]; explicit: boolean; actor: 'user' | 'system' }): Promise<void> {
    const c = changeRow(changeId);
    if (c.status !== 'proposed') throw new EngineError('usage/bad-state', `change ${changeId} is ${c.status}, not waiting for review`);
    const excluded = o.excludeFiles ?? [];
    if (excluded.length > 0 && excludeFiles(c.patch, excluded).trim() === '') {
      throw new EngineError('usage/nothing-left', 'every file of this change was rejected; reject the change instead');
    }
    const at = clock.now();
    commitWithEvents(db, onEvent, (events) => {
      db.run("UPDATE change_requests SET status = 'approved', excluded_files_json = ?, updated_at = ? WHERE id = ?", [JSON.stringify(excluded), at, changeId]);
      emit(db, events, { at, actor: o.actor === 'user' ? 'user' : 'system', kind: 'change/state', runId: c.run_id, taskId: c.task_id, subjectId: changeId, from: 'proposed', to: 'approved', reason: excluded.length ? `approved without ${excluded.join(', ')}` : undefined });
      transitionTask(db, events, { runId: c.run_id, taskId: c.task_id, from: ['proposed'], to: 'approved', at, actor: o.actor === 'user' ? 'user' : 'system' });
    });
    try {
      queue.enqueue(changeId, { actor: o.actor === 'user' ? 'user' : 'agent', explicitApproval: o.explicit, dependsOnChangeIds: dependencyChangeIds(c.run_id, c.task_id) });
    } catch (e) {
      // Not queued (e.g. a protected path without explicit approval): back to review.
      commitWithEvents(db, onEvent, (events) => {
        db.run("UPDATE change_requests SET status = 'proposed', updated_at = ? WHERE id = ?", [clock.now(), changeId]);
        emit(db, events, { at: clock.now(), actor: 'queue', kind: 'change/state', runId: c.run_id, taskId: c.task_id, subjectId: changeId, from: 'approved', to: 'proposed', reason: describeError(e) });
        transitionTask(db, events, { runId: c.run_id, taskId: c.task_id, from: ['approved'], to: 'proposed', at: clock.now() });
      });
      throw e;
    }
    if (opts.autoLand) void kickQueue();
  }

  async function onChangeProposed(changeId: string): Promise<void> {
    const c = changeRow(changeId);
    const run = db.get<{ approve: string }>('SELECT approve FROM runs WHERE id = ?', [c.run_id]);
    if (run?.approve !== 'all') return;
    if (c.needs_explicit_approval) {
      log.info('change needs an explicit approval (protected path); left for review', { changeId });
      return;
    }
    await approve(changeId, { explicit: false, actor: 'system' }).catch((e) => log.warn('automatic approval failed', { changeId, error: describeError(e) }));
  }

  function startRunLoop(runId: string, parent?: AbortSignal): Promise<RunView> {
    const controller = new AbortController();
    const abort = () => controller.abort(parent?.reason);
    parent?.addEventListener('abort', abort, { once: true });
    disposeController.signal.addEventListener('abort', () => controller.abort(), { once: true });
    const done = runPlan({ db, repo, client, config, log, clock, onEvent, onChangeProposed, signal: controller.signal, backoff: opts.taskBackoff }, runId).finally(() => {
      parent?.removeEventListener('abort', abort);
      runs.delete(runId);
    });
    runs.set(runId, { controller, done });
    return done;
  }

  // A crash between storing a change and approving it automatically leaves it `proposed`.
  for (const c of db.all<{ id: string }>(
    `SELECT c.id FROM change_requests c JOIN runs r ON r.id = c.run_id
     WHERE c.status = 'proposed' AND r.approve = 'all' AND c.needs_explicit_approval = 0 ORDER BY c.created_at`,
  )) {
    await onChangeProposed(c.id);
  }

  if (opts.resumeRuns) {
    for (const r of db.all<{ id: string }>("SELECT id FROM runs WHERE status IN ('running', 'planning')")) {
      log.info('resuming an interrupted run', { runId: r.id });
      startRunLoop(r.id).catch((e) => log.error('resumed run failed', { runId: r.id, error: describeError(e) }));
    }
    if (queue.list().some((e) => e.state === 'queued' || e.state === 'blocked')) void kickQueue();
  }

  const proposedTrees = new Map<string, Promise<string>>();

  const engine: Engine = {
    config,
    onDidChange: emitter.event,

    async plan(goal: string, o: PlanOptions = {}): Promise<RunnablePlan> {
      if (goal.trim() === '') throw new EngineError('usage/empty-goal', 'the goal is empty');
      const res = await planGoal({ goal, repo, context: o.context, constraints: o.constraints }, { client, config, log, ask: opts.ports.ask, signal: o.signal });
      return res.plan;
    },

    async startRun(plan: RunnablePlan, o: StartRunOptions = {}) {
      const baseCommit = await revParse(repo, queue.targetRef());
      const runId = createRun(db, { goal: plan.goal, repo, baseCommit, targetRef: queue.targetRef(), plan, approve: o.approve ?? 'none', clock, onEvent });
      return { runId, done: startRunLoop(runId, o.signal) };
    },

    async cancelRun(runId: string) {
      const active = runs.get(runId);
      if (active) {
        cancelActiveRun(runId);
        active.controller.abort(new EngineError('cancelled', 'the run was cancelled'));
        await active.done.catch(() => undefined);
        return;
      }
      const at = clock.now();
      commitWithEvents(db, onEvent, (events) => {
        const changed = db.run("UPDATE runs SET status = 'cancelled', updated_at = ? WHERE id = ? AND status IN ('running', 'paused', 'planning')", [at, runId]).changes;
        if (changed) emit(db, events, { at, actor: 'user', kind: 'run/state', runId, to: 'cancelled' });
        for (const t of getTaskRows(db, runId)) {
          transitionTask(db, events, { runId, taskId: t.id, from: ['pending', 'ready', 'running'], to: 'cancelled', at, actor: 'user', reason: 'the run was cancelled', error: 'the run was cancelled', finishedAt: at });
        }
      });
    },

    async retryTask(runId: string, taskId: string) {
      const at = clock.now();
      const moved = commitWithEvents(db, onEvent, (events) => {
        const ok = transitionTask(db, events, { runId, taskId, from: ['failed', 'skipped', 'rejected', 'cancelled'], to: 'ready', at, actor: 'user', reason: 'retried by the user', error: null });
        if (ok) {
          db.run("UPDATE change_requests SET status = 'superseded', updated_at = ? WHERE run_id = ? AND task_id = ? AND status IN ('proposed', 'rejected', 'failed')", [at, runId, taskId]);
          // Dependents skipped because of this task get another chance too.
          for (const d of dependentsOf(getTaskRows(db, runId), taskId)) {
            transitionTask(db, events, { runId, taskId: d, from: ['skipped'], to: 'pending', at, actor: 'user', reason: `dependency ${taskId} is retried`, error: null });
          }
          if (db.run("UPDATE runs SET status = 'running', updated_at = ? WHERE id = ? AND status != 'running'", [at, runId]).changes) {
            emit(db, events, { at, actor: 'user', kind: 'run/state', runId, to: 'running', reason: `task ${taskId} retried` });
          }
        }
        return ok;
      });
      if (!moved) throw new EngineError('usage/bad-state', `task ${taskId} cannot be retried in its current state`);
      if (!runs.has(runId)) startRunLoop(runId).catch((e) => log.error('retried run failed', { runId, error: describeError(e) }));
    },

    listRuns: (limit = 20) => listRunViews(db, limit),
    getRun: (runId) => getRunView(db, runId),
    listChanges: (filter) => listChangeViews(db, filter),
    getChange: (id) => getChangeView(db, id),

    approveChange: (changeId, o = {}) => approve(changeId, { excludeFiles: o.excludeFiles, explicit: o.explicit ?? true, actor: 'user' }),

    async rejectChange(changeId: string, reason = 'rejected by the user') {
      const c = changeRow(changeId);
      if (c.status === 'merged') throw new EngineError('usage/bad-state', `change ${changeId} is already merged; revert it instead`);
      const entry = queue.list().find((e) => e.changeId === changeId && e.kind === 'land' && !['merged', 'rejected', 'reverted'].includes(e.state));
      if (entry) queue.reject(entry.id, reason);
      const at = clock.now();
      commitWithEvents(db, onEvent, (events) => {
        db.run("UPDATE change_requests SET status = 'rejected', error = ?, updated_at = ? WHERE id = ?", [reason, at, changeId]);
        emit(db, events, { at, actor: 'user', kind: 'change/state', runId: c.run_id, taskId: c.task_id, subjectId: changeId, from: c.status, to: 'rejected', reason });
        transitionTask(db, events, { runId: c.run_id, taskId: c.task_id, from: ['proposed', 'approved'], to: 'rejected', at, actor: 'user', reason, error: reason });
        // Dependents that already proposed a change on top of this one lose their base.
        for (const d of dependentsOf(getTaskRows(db, c.run_id), c.task_id)) {
          const why = `dependency ${c.task_id} was rejected`;
          if (transitionTask(db, events, { runId: c.run_id, taskId: d, from: ['proposed', 'approved'], to: 'skipped', at, reason: why, error: why })) {
            db.run("UPDATE change_requests SET status = 'superseded', error = ?, updated_at = ? WHERE run_id = ? AND task_id = ? AND status IN ('proposed', 'approved')", [why, at, c.run_id, d]);
          }
        }
      });
      skipDependents(db, c.run_id, c.task_id, `dependency ${c.task_id} was rejected`, clock, onEvent);
    },

    async revertChange(changeId: string) {
      queue.revert(changeId);
      if (opts.autoLand) void kickQueue();
    },

    listQueue: () => queue.list(),

    async retryEntry(entryId: string) {
      queue.retry(entryId);
      if (opts.autoLand) void kickQueue();
    },

    runQueue: async (signal?: AbortSignal) => {
      if (signal?.aborted) return;
      await kickQueue();
      // A pass requested while the previous one was finishing.
      while (landing) await landing;
    },

    queueSummary(): QueueSummary {
      const count = (sql: string) => db.get<{ n: number }>(sql)?.n ?? 0;
      const latest = db.get<{ cost_usd: number }>('SELECT cost_usd FROM runs ORDER BY created_at DESC LIMIT 1');
      return {
        running: count("SELECT COUNT(*) AS n FROM tasks WHERE status = 'running'"),
        awaitingReview: count("SELECT COUNT(*) AS n FROM change_requests WHERE status = 'proposed'"),
        queued: count("SELECT COUNT(*) AS n FROM queue_entries WHERE state IN ('queued', 'checking', 'landing')"),
        merged: count("SELECT COUNT(*) AS n FROM queue_entries WHERE state = 'merged'"),
        failed: count("SELECT COUNT(*) AS n FROM queue_entries WHERE state IN ('failed', 'quarantined', 'conflicted')"),
        blocked: count("SELECT COUNT(*) AS n FROM queue_entries WHERE state = 'blocked'"),
        costUsd: latest?.cost_usd ?? 0,
      };
    },

    queueMetrics: () => queue.metrics(),

    async readBaseFile(changeId: string, path: string) {
      const c = changeRow(changeId);
      return readBlobAt(repo, c.base_commit, path);
    },

    async readProposedFile(changeId: string, path: string) {
      const c = changeRow(changeId);
      const key = `${changeId}:${c.base_commit}:${c.patch.length}`;
      let tree = proposedTrees.get(key);
      if (!tree) {
        tree = applyPatchToTree(repo, c.base_commit, c.patch);
        proposedTrees.set(key, tree);
        tree.catch(() => proposedTrees.delete(key));
      }
      return readBlobAt(repo, await tree, path);
    },

    history: (limit = 100) => history(db, limit),

    // Contract stubs: each is implemented by its own use case (see issue 9).
    listRequests: () => [],
    async deleteRun(runId: string) {
      throw new EngineError('usage/unsupported', `deleting run ${runId} is not implemented yet`);
    },
    getCheckOutput: (entryId, attempt) => queue.checkOutput(entryId, attempt),
    async recheckBlocked() {
      // Requeues what is clean now, then lands it: the host calls this when a blocking file changed.
      if ((await queue.recheckBlocked(disposeController.signal)) > 0) await kickQueue();
    },

    async dispose() {
      disposeController.abort(new EngineError('cancelled', 'Hyperion is shutting down'));
      await Promise.allSettled([...runs.values()].map((r) => r.done));
      await landing?.catch(() => undefined);
      emitter.dispose();
      db.close();
    },
  };
  return engine;
}

/**
 * The merge queue's `regenerate`: the task's developer agent runs again from the new tip with
 * the conflicting paths named, and its patch replaces the old one. Undefined when the change
 * has no task to re-run (a ready-made patch from a request file cannot be regenerated).
 */
async function regenerateChange(db: Db, repo: string, client: ModelClient, config: EngineConfig, log: Logger, clock: Clock, req: RegenerateRequest): Promise<{ patch: string; baseCommit: string } | undefined> {
  const c = db.get<{ run_id: string; task_id: string; patch: string }>('SELECT run_id, task_id, patch FROM change_requests WHERE id = ?', [req.changeId]);
  if (!c) return undefined;
  const plan = db.get<{ plan_json: string }>('SELECT plan_json FROM plans WHERE run_id = ?', [c.run_id]);
  const planned = plan ? (JSON.parse(plan.plan_json) as RunnablePlan).tasks.find((t) => t.id === c.task_id) : undefined;
  if (!planned || planned.patch !== undefined) return undefined;
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
    const out = await runDeveloper({
      repo, task, baseTree: req.newTip, deps: [], maxSteps: config.agentMaxSteps, signal: controller.signal, log,
      // One generation per conflict, so a crash mid-regeneration replays what was paid for.
      client: recordingClient(db, client, clock, { runId: c.run_id, taskId: c.task_id, generation: 1000 + conflicts }),
    });
    if (out.patch.trim() === '') return undefined;
    // The regenerated patch skips the enqueue-time review: refuse it when it breaks a rule or
    // needs an explicit approval for a path the approved patch did not touch.
    const before = new Set(checkPatchPolicy(c.patch, { protectedPaths: config.protectedPaths, maxPatchBytes: config.maxPatchBytes }).files);
    const report = checkPatchPolicy(out.patch, { protectedPaths: config.protectedPaths, maxPatchBytes: config.maxPatchBytes });
    const fresh = report.violations.filter((v) => v.severity === 'block' || (v.path !== undefined && !before.has(v.path)));
    if (fresh.length > 0) {
      log.warn('regenerated change refused by policy', { changeId: req.changeId, rule: fresh[0].rule, path: fresh[0].path });
      return undefined;
    }
    return { patch: out.patch, baseCommit: req.newTip };
  } finally {
    clearTimeout(timer);
  }
}
