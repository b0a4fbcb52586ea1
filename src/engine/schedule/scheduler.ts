import type { RunStatus, RunView, TaskStatus } from '../api';
import type { ModelClientLike } from '../agents/types';
import { agentChoiceFor } from './agentChoice';
import type { EngineConfig } from '../config';
import { EngineError } from '../errors';
import type { EngineEvent } from '../events';
import type { Clock, Logger, SecretReader } from '../ports';
import {
  DEAD_STATUSES, DONE_STATUSES, commitWithEvents, dependentsOf, getRunRow, getStoredPlan, getTaskRows, isSettled, transitionRun, transitionTask,
} from '../runs/runs';
import type { OnEvent } from '../runs/types';
import { getRunView } from '../runs/views';
import type { Db } from '../store/types';
import type { TaskExecutor } from './executor';
import { RunRegistry, type ActiveRun } from './registry';
import { TaskStop, type BackoffOptions } from './retry';
import { RunIndex, type IndexedTask } from './runIndex';
import { beginFirstAttempt, runTask, type StartedAttempt } from './runTask';
import type { OnTaskSpan } from './spans';
import type { checkPolicy } from './policy';

export interface RunPlanDeps {
  db: Db;
  repo: string;
  client: ModelClientLike;
  config: EngineConfig;
  log: Logger;
  clock: Clock;
  onEvent?: OnEvent;
  /** Called after each proposed change is durable (the engine auto-approves here). Errors are logged. */
  onChangeProposed?: (changeId: string) => Promise<void> | void;
  signal?: AbortSignal;
  /** Attempt-level retry backoff; default 1 s doubling to 30 s. */
  backoff?: BackoffOptions;
  /** The engine's runs in flight, so its cancel and skip reach this run's tasks (default: a private one). */
  registry?: RunRegistry;
  /** Keys Hyperion holds, for coding agents of their provider (schedule/agentEnv.ts). */
  secrets?: SecretReader;
  /** Where agent tasks run (default: in this process; `distributed.redisUrl`: on workers). */
  executor?: TaskExecutor;
  /** Measurement hook: where each task's time went (benchmarks); see spans.ts. */
  onTaskSpan?: OnTaskSpan;
  /** The change policy (default `checkPolicy`); tests wrap it to count how often a patch is checked. */
  checkPolicy?: typeof checkPolicy;
}

/** True when two predicted file sets touch a common path (a folder covers what is below it). */
export function filesOverlap(a: readonly string[], b: readonly string[]): boolean {
  const norm = (p: string) => p.replace(/\/+$/, '');
  for (const x of a.map(norm)) {
    for (const y of b.map(norm)) {
      if (x === y || x.startsWith(`${y}/`) || y.startsWith(`${x}/`)) return true;
    }
  }
  return false;
}

/** What promotion would do to a pending/ready task now: skip it (a dependency is dead), make it ready, or nothing. */
function verdict(index: RunIndex, t: IndexedTask): { to: 'skipped'; dead: string } | { to: 'ready' } | undefined {
  if (t.status !== 'pending' && t.status !== 'ready') return undefined;
  const dead = t.deps.find((d) => DEAD_STATUSES.has(index.status(d) ?? ''));
  if (dead !== undefined) return { to: 'skipped', dead };
  if (t.status === 'pending' && t.deps.every((d) => DONE_STATUSES.has(index.status(d) ?? ''))) return { to: 'ready' };
  return undefined;
}

/**
 * Inside the caller's transaction: promotes the pending tasks among `check` whose
 * dependencies are done to `ready`, and skips (transitively) every pending/ready task with a
 * failed, rejected, skipped or cancelled dependency. Only `check` and the dependents of what
 * it skips are looked at, so a wake-up costs what changed, not the size of the run.
 */
function promote(db: Db, index: RunIndex, events: EngineEvent[], check: Iterable<string>, at: number): void {
  const runId = index.runId;
  const todo = [...check];
  while (todo.length > 0) {
    const t = index.get(todo.pop()!);
    if (!t) continue;
    const v = verdict(index, t);
    if (!v) continue;
    if (v.to === 'skipped') {
      const reason = `dependency ${v.dead} ${index.status(v.dead)}`;
      if (transitionTask(db, events, { runId, taskId: t.row.id, from: ['pending', 'ready'], to: 'skipped', at, error: reason, reason, finishedAt: at })) {
        index.setStatus(t.row.id, 'skipped');
        todo.push(...t.dependents);
      }
    } else if (transitionTask(db, events, { runId, taskId: t.row.id, from: ['pending'], to: 'ready', at, reason: 'dependencies done' })) {
      index.setStatus(t.row.id, 'ready');
    }
  }
}

/** True when `check` holds a task that promotion would move (so a transaction is worth opening). */
function promotionDue(index: RunIndex, check: Iterable<string>): boolean {
  for (const id of check) {
    const t = index.get(id);
    if (t && verdict(index, t)) return true;
  }
  return false;
}

/**
 * Skips every task that depends (directly or not) on `taskId` and is not settled yet, with
 * `reason`; running ones have their model calls aborted. For the engine to call when the
 * user rejects a change. Returns the skipped task ids.
 */
export function skipDependents(db: Db, registry: RunRegistry, runId: string, taskId: string, reason: string, clock: Clock, onEvent?: OnEvent): string[] {
  const at = clock.now();
  const skipped = commitWithEvents(db, onEvent, (events) => {
    const tasks = getTaskRows(db, runId);
    const out: string[] = [];
    for (const id of dependentsOf(tasks, taskId)) {
      if (transitionTask(db, events, { runId, taskId: id, from: ['pending', 'ready', 'running'], to: 'skipped', at, error: reason, reason, finishedAt: at })) out.push(id);
    }
    return out;
  });
  for (const id of skipped) registry.stopTask(runId, id, 'skipped', reason);
  return skipped;
}

/**
 * Runs every runnable task of a stored run and resolves with the run's view once nothing is
 * running: `done` (every task settled, none failed), `failed` (some task failed), `paused`
 * (the budget was reached: no new task starts; the run can be resumed by calling runPlan
 * again), or `cancelled` (`signal` fired or `cancelRun`).
 *
 * Guarantees:
 * - a task starts only when each dependency is proposed/approved/merged, from their patches
 *   applied on the base commit (see `buildTaskBase`);
 * - at most `config.concurrency` tasks run at once, and two tasks whose predicted `files`
 *   overlap never run at the same time (overlapping tasks that are ordered by a dependency
 *   cannot be running together anyway);
 * - every state change is durable in the same transaction as its audit event, then `onEvent`
 *   (promotions and the task starts they allow share one transaction);
 * - finished tasks are never re-run; call `recoverRuns` first after a crash.
 * Throws `usage/unknown-run` or `usage/run-active` (the run is already executing here).
 */
export async function runPlan(d: RunPlanDeps, runId: string): Promise<RunView> {
  const { db, clock, config, log } = d;
  const run = getRunRow(db, runId);
  if (!run) throw new EngineError('usage/unknown-run', `no run ${runId}`);
  if (!run.base_commit) throw new EngineError('usage/bad-run', `run ${runId} has no base commit`);
  const storedTasks = getStoredPlan(db, runId)?.tasks ?? [];
  const readyPatches = new Map(storedTasks.filter((t) => typeof t.patch === 'string').map((t) => [t.id, t.patch!]));
  const taskAgents = new Map(storedTasks.flatMap((t) => {
    const choice = agentChoiceFor(config, t);
    return choice ? [[t.id, choice] as const] : [];
  }));

  const controller = new AbortController();
  const active: ActiveRun = {
    runId,
    controller,
    tasks: new Map(),
    cancelQueued: (taskId) => {
      const at = clock.now();
      const ok = commitWithEvents(db, d.onEvent, (events) =>
        transitionTask(db, events, { runId, taskId, from: ['pending', 'ready'], to: 'cancelled', at, error: 'cancelled', reason: 'cancelled by the user', finishedAt: at }),
      );
      if (ok) wake();
      return ok;
    },
  };
  const registry = d.registry ?? new RunRegistry();
  if (registry.get(runId)) throw new EngineError('usage/run-active', `run ${runId} is already running in this process`);
  const unregister = registry.register(active);
  let wake: () => void = () => {};
  const onOuterAbort = () => controller.abort(new TaskStop('run-cancelled', 'the run was cancelled'));
  if (d.signal?.aborted) onOuterAbort();
  else d.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const onRunAbort = () => {
    for (const c of active.tasks.values()) if (!c.signal.aborted) c.abort(controller.signal.reason instanceof TaskStop ? controller.signal.reason : new TaskStop('run-cancelled', 'the run was cancelled'));
    wake();
  };
  controller.signal.addEventListener('abort', onRunAbort, { once: true });

  const running = new Map<string, Promise<void>>();
  let pausedForBudget = false;
  try {
    commitWithEvents(db, d.onEvent, (events) => transitionRun(db, events, runId, 'running', clock.now(), { reason: 'started' }));
    const index = RunIndex.load(db, runId);
    let check: Set<string> = new Set(index.ids());
    for (;;) {
      if (controller.signal.aborted) break;
      // What changed since the last wake-up (this run's task runners, the engine, other
      // processes), and the tasks that may move because of it.
      for (const id of index.sync(db)) {
        check.add(id);
        for (const dep of index.get(id)!.dependents) check.add(dep);
      }
      const runRow = getRunRow(db, runId)!;
      const cost = runRow.cost_usd;
      if (config.budgetUsd !== undefined && cost >= config.budgetUsd && !pausedForBudget) {
        pausedForBudget = true;
        log.info('run reached its budget; no new task starts', { runId, costUsd: cost, budgetUsd: config.budgetUsd });
        commitWithEvents(db, d.onEvent, (events) =>
          transitionRun(db, events, runId, 'paused', clock.now(), { reason: `budget of $${config.budgetUsd} reached ($${cost.toFixed(4)} spent)` }),
        );
      }
      const startable = () => {
        if (pausedForBudget) return [];
        const busy = [...running.keys()].map((id) => index.get(id)!);
        const picked: IndexedTask[] = [];
        for (const t of index.ready()) {
          if (running.size + picked.length >= config.concurrency) break;
          if (running.has(t.row.id)) continue;
          if (busy.some((b) => filesOverlap(b.files, t.files))) continue;
          busy.push(t);
          picked.push(t);
        }
        return picked;
      };
      // Promotion and the start of every task it makes runnable: one durable write.
      let started: Array<{ t: IndexedTask; attempt: StartedAttempt }> = [];
      if (promotionDue(index, check) || startable().length > 0) {
        const at = clock.now();
        try {
          started = commitWithEvents(db, d.onEvent, (events) => {
            promote(db, index, events, check, at);
            const out: Array<{ t: IndexedTask; attempt: StartedAttempt }> = [];
            for (const t of startable()) {
              const attempt = beginFirstAttempt(db, events, t.row, at);
              index.setStatus(t.row.id, attempt ? 'running' : (db.get<{ status: string }>('SELECT status FROM tasks WHERE run_id = ? AND id = ?', [runId, t.row.id])?.status ?? t.status));
              if (attempt) out.push({ t, attempt });
            }
            return out;
          });
        } catch (e) {
          // The transaction rolled back, so the statuses set in memory are not true: reload.
          index.reload(db);
          throw e;
        }
      }
      check = new Set();
      for (const { t, attempt } of started) {
        const id = t.row.id;
        const tc = new AbortController();
        active.tasks.set(id, tc);
        const timer = setTimeout(() => tc.abort(new TaskStop('timeout', `the task timed out after ${config.taskTimeoutMs} ms`)), config.taskTimeoutMs);
        const p = runTask(d, runRow, t.row, index, readyPatches.get(id), attempt, tc.signal, taskAgents.get(id))
          .catch((e) => log.error('task runner crashed', { runId, taskId: id, error: String(e) }))
          .finally(() => {
            clearTimeout(timer);
            active.tasks.delete(id);
            running.delete(id);
          });
        running.set(id, p);
      }
      if (running.size === 0) {
        // Nothing running and nothing started: done, unless another actor changed a task meanwhile.
        const changed = index.sync(db);
        if (changed.length === 0) break;
        for (const id of changed) {
          check.add(id);
          for (const dep of index.get(id)!.dependents) check.add(dep);
        }
        continue;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        for (const p of running.values()) void p.then(resolve);
      });
      wake = () => {};
    }
  } finally {
    await Promise.allSettled([...running.values()]);
    d.signal?.removeEventListener('abort', onOuterAbort);
    unregister();
  }
  return finish(d, runId, controller.signal.aborted);
}

function finish(d: RunPlanDeps, runId: string, cancelled: boolean): RunView {
  const { db, clock } = d;
  const at = clock.now();
  commitWithEvents(db, d.onEvent, (events: EngineEvent[]) => {
    const tasks = getTaskRows(db, runId);
    if (cancelled) {
      for (const t of tasks) {
        if (!isSettled(t.status) && t.status !== 'running') {
          transitionTask(db, events, { runId, taskId: t.id, from: ['pending', 'ready'], to: 'cancelled', at, error: 'the run was cancelled', reason: 'the run was cancelled', finishedAt: at });
        }
      }
      transitionRun(db, events, runId, 'cancelled', at, { reason: 'cancelled' });
      return;
    }
    const open = tasks.filter((t) => !isSettled(t.status));
    const failed = tasks.filter((t) => t.status === ('failed' satisfies TaskStatus));
    let to: RunStatus;
    let error: string | null = null;
    if (open.length > 0) to = 'paused';
    else if (failed.length > 0) {
      to = 'failed';
      error = `${failed.length} task(s) failed: ${failed.map((t) => `${t.id} (${t.error ?? 'error'})`).join('; ')}`;
    } else to = 'done';
    transitionRun(db, events, runId, to, at, { error, reason: error ?? undefined });
  });
  return getRunView(db, runId)!;
}
