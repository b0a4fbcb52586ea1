import type { Engine, RunView, RunnablePlan } from './api';
import type { EngineConfig } from './config';
import { Emitter, type EngineEvent } from './events';
import { EngineError, describeError } from './errors';
import { git, revParse } from './git/exec';
import { planGoal } from './plan/planner';
import type { Clock, Logger, SecretReader, UserPrompt } from './ports';
import { systemClock } from './ports';
import { createModelClient } from './providers/modelClient';
import { createProviderRegistry } from './providers/router';
import type { ChatProvider, LanguageModelPort, ProviderKind } from './providers/types';
import { createMergeQueue } from './queue/mergeQueue';
import type { MergeQueue } from './queue/types';
import { deleteRun } from './runs/deleteRun';
import { keptTaskWorktree } from './git/taskWorktree';
import { distributedParts } from './distributed/lazy';
import { listWorkerRuns } from './distributed/workerRuns';
import { recoverRuns } from './runs/recovery';
import { listRequests } from './runs/requests';
import { createRun } from './runs/runs';
import { getChangeView, getRunView, history, listChangeViews, listRunViews } from './runs/views';
import { readTaskTranscript } from './runs/agentAttempts';
import { RunAgents, TaskActivity, runWithAgentInfo, withAgentInfo } from './runs/taskActivity';
import { RunRegistry } from './schedule/registry';
import type { BackoffOptions } from './schedule/retry';
import type { OnTaskSpan } from './schedule/spans';
import { runPlan } from './schedule/scheduler';
import { openDb } from './store/db';
import { stateDirFor } from './store/location';
import { approveChange, autoApprove } from './usecases/approveChange';
import { cancelRun } from './usecases/cancelRun';
import { changeFileReader } from './usecases/changeFiles';
import type { EngineContext } from './usecases/context';
import { landingLoop } from './usecases/landingLoop';
import { queueSummary } from './usecases/queueSummary';
import { recoverChanges } from './usecases/recoverChanges';
import { regenerateChange } from './usecases/regenerateChange';
import { rejectChange } from './usecases/rejectChange';
import { retryTask } from './usecases/retryTask';
import { draftRun } from './usecases/draftRun';
import { editDraft } from './usecases/editDraft';
import { startDraft } from './usecases/startDraft';
import { runSummary } from './usecases/runSummary';
import { draftView } from './runs/draft';
import { acceptHunks, listHunks } from './usecases/acceptHunks';
import { requestChanges } from './usecases/requestChanges';
import { listVersions, versionFileReader } from './usecases/changeVersions';
import { listComments } from './changes/comments';
import { addComment } from './usecases/addComment';
import { watchStore } from './store/watch';
import { claimRun, runsToResume } from './runs/runner';

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
  /**
   * Open for reading only (`status`, `history`, `queue list`): no crash recovery, no automatic
   * approval, nothing queued or landed. Writes through the returned engine still work.
   */
  readOnly?: boolean;
  /** True when the editor holds unsaved edits to a repo-relative path. */
  isPathDirtyInEditor?: (path: string) => boolean;
  /** Replace providers (tests, benchmarks). */
  providerOverrides?: Partial<Record<ProviderKind, ChatProvider>>;
  /** Backoff between a task's attempts after transient failures (default 1 s doubling to 30 s). */
  taskBackoff?: BackoffOptions;
  /** Measurement hook (benchmarks): where each task's time went, see schedule/spans.ts. */
  onTaskSpan?: OnTaskSpan;
  /**
   * Notice writes to the store by other processes (a CLI run while the editor is open) and fire
   * `store/changed` (never in the audit log) once they are taken in, so hosts refresh their views.
   */
  watchStore?: boolean;
}

/**
 * The composition root: opens the store, recovers what a crash left behind, and wires the
 * use cases (`usecases/`), the scheduler and the merge queue behind the `Engine` facade.
 * It holds no use case of its own.
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
  const stateDir = opts.stateDir ?? (await stateDirFor(repo));
  const db = await openDb({ dir: stateDir, log });
  const emitter = new Emitter<EngineEvent>();
  const activity = new TaskActivity();
  const providers = createProviderRegistry({ config, secrets: opts.ports.secrets, lm: opts.ports.lm, log, overrides: opts.providerOverrides });
  const client = createModelClient({ registry: providers, config, log, clock });
  const disposeController = new AbortController();

  // The context is complete once the queue exists; the queue's hooks only run after that.
  const ctx = {
    db, repo, config, log, clock, client,
    onEvent: (e: EngineEvent) => {
      activity.observe(e);
      emitter.fire(e);
    },
    registry: new RunRegistry(),
    loops: new Map(),
    autoLand: opts.autoLand ?? false,
    taskBackoff: opts.taskBackoff,
  } as Omit<EngineContext, 'queue' | 'startRunLoop' | 'kickQueue'> as EngineContext;

  // Agent tasks and checks on workers through Redis when configured (issue 13); else here.
  const distributed = distributedParts({ config, repo, db, log, clock, readOnly: opts.readOnly === true });
  let queue: MergeQueue;
  try {
    queue = createMergeQueue({
      db, repo, config, log, clock, onEvent: ctx.onEvent,
      regenerate: (req) => regenerateChange(ctx, req),
      onReturnedForReview: async (changeId) => autoApprove(ctx, changeId),
      isPathDirtyInEditor: opts.isPathDirtyInEditor,
      runCheck: distributed.checks?.run,
    });
    if (!opts.readOnly) {
      recoverRuns(db, clock, ctx.onEvent);
      await queue.recover();
    }
  } catch (e) {
    db.close();
    throw e;
  }
  const lander = landingLoop(queue, log, disposeController.signal);
  ctx.queue = queue;
  ctx.kickQueue = () => void lander.kick();
  ctx.startRunLoop = (runId: string, parent?: AbortSignal): Promise<RunView> => {
    let release: () => void;
    try {
      release = claimRun(db, runId);
    } catch (e) {
      return Promise.reject(e);
    }
    const controller = new AbortController();
    const abort = () => controller.abort(parent?.reason);
    parent?.addEventListener('abort', abort, { once: true });
    disposeController.signal.addEventListener('abort', () => controller.abort(), { once: true });
    const done = runPlan(
      {
        db, repo, client, config, log, clock, onEvent: ctx.onEvent, registry: ctx.registry, signal: controller.signal, backoff: opts.taskBackoff, secrets: opts.ports.secrets, executor: distributed.executor,
        onChangeProposed: (changeId) => autoApprove(ctx, changeId),
        onTaskSpan: opts.onTaskSpan,
      },
      runId,
    ).finally(() => {
      release();
      parent?.removeEventListener('abort', abort);
      ctx.loops.delete(runId);
    });
    ctx.loops.set(runId, { controller, done });
    return done;
  };

  if (!opts.readOnly) recoverChanges(ctx);
  if (opts.resumeRuns && !opts.readOnly) {
    for (const id of runsToResume(db)) {
      log.info('resuming an interrupted run', { runId: id });
      ctx.startRunLoop(id).catch((e) => log.error('resumed run failed', { runId: id, error: describeError(e) }));
    }
    if (queue.list().some((e) => e.state === 'queued' || e.state === 'blocked')) ctx.kickQueue();
  }

  const files = changeFileReader(db, repo);
  const agents = new RunAgents(db, config);
  const readVersionFile = versionFileReader(db, repo);
  const storeWatch = opts.watchStore
    ? watchStore({ dir: stateDir, db, log, onForeignWrite: () => emitter.fire({ at: clock.now(), actor: 'system', kind: 'store/changed', reason: 'another process wrote to the store' }) })
    : undefined;

  const engine: Engine = {
    config,
    onDidChange: emitter.event,

    async plan(goal, o = {}) {
      if (goal.trim() === '') throw new EngineError('usage/empty-goal', 'the goal is empty');
      const res = await planGoal({ goal, repo, context: o.context, constraints: o.constraints }, { client, config, log, ask: opts.ports.ask, signal: o.signal });
      return res.plan;
    },

    async startRun(plan: RunnablePlan, o = {}) {
      const baseCommit = await revParse(repo, queue.targetRef());
      const runId = createRun(db, { goal: plan.goal, repo, baseCommit, targetRef: queue.targetRef(), plan, approve: o.approve ?? 'none', clock, onEvent: ctx.onEvent });
      return { runId, done: ctx.startRunLoop(runId, o.signal) };
    },

    cancelRun: (runId) => cancelRun(ctx, runId),
    retryTask: async (runId, taskId) => retryTask(ctx, runId, taskId),

    listRuns: (limit = 20) => listRunViews(db, limit).map((r) => runWithAgentInfo(agents, activity, r)!),
    getRun: (runId) => runWithAgentInfo(agents, activity, getRunView(db, runId)),
    listChanges: (filter) => listChangeViews(db, filter),
    getChange: (id) => getChangeView(db, id),

    approveChange: async (changeId, o = {}) =>
      approveChange(ctx, changeId, { excludeFiles: o.excludeFiles, explicit: o.explicit ?? true, actor: 'user', expectedVersion: o.version }),
    rejectChange: async (changeId, reason) => rejectChange(ctx, changeId, reason),

    async revertChange(changeId) {
      queue.revert(changeId);
      if (ctx.autoLand) ctx.kickQueue();
    },

    listQueue: () => queue.list(),

    async retryEntry(entryId) {
      queue.retry(entryId);
      if (ctx.autoLand) ctx.kickQueue();
    },

    async runQueue(signal) {
      if (signal?.aborted) return;
      await lander.kick();
      await lander.idle();
    },

    queueSummary: () => queueSummary(db),
    queueMetrics: () => queue.metrics(),
    readBaseFile: (changeId, path) => files.readBaseFile(changeId, path),
    readProposedFile: (changeId, path) => files.readProposedFile(changeId, path),
    history: (limit = 100) => withAgentInfo(agents, activity, history(db, limit)),

    // Contract stubs: each is implemented by its own use case (see issue 9).
    listRequests: (limit) => listRequests(db, limit),
    deleteRun: async (runId) => deleteRun(db, runId, { clock, onEvent: ctx.onEvent }),
    taskWorktreePath: (runId, taskId) => keptTaskWorktree(repo, runId, taskId),
    getCheckOutput: (entryId, attempt) => queue.checkOutput(entryId, attempt),
    async recheckBlocked() {
      // Requeues what is clean now, then lands it: the host calls this when a blocking file changed.
      if ((await queue.recheckBlocked(disposeController.signal)) > 0) await lander.kick();
    },

    draftRun: (plan, o) => draftRun(ctx, plan, o),
    getDraft: (runId) => draftView(db, runId, config.planner.maxTasks),
    editDraft: async (runId, edit) => editDraft(ctx, runId, edit),
    startDraft: (runId, o) => startDraft(ctx, runId, o),
    runSummary: async (runId) => runSummary(ctx, runId),
    taskTranscript: async (runId, taskId, attempt) => readTaskTranscript(db, runId, taskId, attempt),
    listHunks: (changeId) => listHunks(ctx, changeId),
    acceptHunks: (changeId, o) => acceptHunks(ctx, changeId, o),
    addComment: (changeId, comment) => addComment(ctx, changeId, comment),
    listComments: (changeId) => listComments(db, changeId),
    requestChanges: (changeId, o) => requestChanges(ctx, changeId, o),
    listVersions: (changeId) => listVersions(db, changeId),
    readVersionFile: (changeId, version, path) => readVersionFile(changeId, version, path),
    listWorkers: () => distributed.listWorkers(),
    listWorkerRuns: (runId, taskId) => listWorkerRuns(db, runId, taskId),

    async dispose() {
      disposeController.abort(new EngineError('cancelled', 'Hyperion is shutting down'));
      storeWatch?.dispose();
      await Promise.allSettled([...ctx.loops.values()].map((r) => r.done));
      await distributed.executor?.dispose();
      await lander.idle().catch(() => undefined);
      await distributed.checks?.dispose();
      emitter.dispose();
      db.close();
    },
  };
  return engine;
}

