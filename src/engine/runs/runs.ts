import { randomBytes } from 'node:crypto';
import type { TaskStatus, RunStatus } from '../api';
import type { Clock } from '../ports';
import { appendEvent, type Actor, type EngineEvent } from '../events';
import { z } from 'zod';
import { ModelRef } from '../config';
import { EngineError } from '../errors';
import { findCycle } from '../graph/dag';
import { checkPlanSizes } from '../plan/limits';
import { PlanTask } from '../plan/schema';
import type { Db } from '../store/types';
import type { OnEvent, RunPlanInput, RunRow, TaskRow } from './types';

/** Task statuses that satisfy a dependency: the dependent builds on the dependency's patch. */
export const DONE_STATUSES: ReadonlySet<string> = new Set<TaskStatus>(['proposed', 'approved', 'merged']);
/** Task statuses that make every dependent `skipped`. */
export const DEAD_STATUSES: ReadonlySet<string> = new Set<TaskStatus>(['failed', 'rejected', 'skipped', 'cancelled']);
/** Statuses that are never re-run (everything but pending/ready/running). */
export function isSettled(status: string): boolean {
  return DONE_STATUSES.has(status) || DEAD_STATUSES.has(status);
}

export function newId(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}${randomBytes(5).toString('hex')}`;
}

/**
 * Runs `fn` in one durable transaction; `fn` returns the events it appended. The events are
 * handed to `onEvent` only after the commit, so live listeners never see a state that was
 * rolled back.
 */
export function commitWithEvents<T>(db: Db, onEvent: OnEvent | undefined, fn: (events: EngineEvent[]) => T): T {
  const events: EngineEvent[] = [];
  const out = db.transaction(() => {
    events.length = 0;
    return fn(events);
  });
  if (onEvent) for (const e of events) {
    try {
      onEvent(e);
    } catch {
      // a faulty listener must not break the scheduler
    }
  }
  return out;
}

/** Appends to the audit log and to `events` (for `commitWithEvents`). Call inside a transaction. */
export function emit(db: Db, events: EngineEvent[], e: EngineEvent): void {
  appendEvent(db, e);
  events.push(e);
}

export interface CreateRunInput {
  goal: string;
  repo: string;
  baseCommit: string;
  targetRef?: string;
  plan: RunPlanInput;
  approve: 'none' | 'all';
  clock: Clock;
  onEvent?: OnEvent;
  /** Store the run as a `draft` the user edits before it starts (runs/draft.ts owns that state); every task waits `pending`. */
  draft?: boolean;
}

/** What a stored task must look like; a plan from a buggy host is refused before anything is written. */
const RunTaskShape = PlanTask.extend({ route: ModelRef.optional(), patch: z.string().optional(), agent: z.string().min(1).optional(), model: z.string().min(1).optional() });

/**
 * Checks a plan handed to `createRun` and returns it with schema defaults filled in.
 * Hosts validate plans first (`validatePlan`); this guards the store against a host bug, so a
 * malformed task is a `usage/bad-plan` sentence instead of a constraint error, and a cycle is
 * refused instead of leaving its tasks pending forever.
 */
function checkRunPlan(plan: RunPlanInput): RunPlanInput {
  if (typeof plan !== 'object' || plan === null || typeof plan.goal !== 'string' || !Array.isArray(plan.tasks)) {
    throw new EngineError('usage/bad-plan', 'the plan needs a goal and a list of tasks');
  }
  const tasks = plan.tasks.map((t, i) => {
    const r = RunTaskShape.safeParse(t);
    if (r.success) return r.data;
    const issue = r.error.issues[0];
    const id = typeof (t as { id?: unknown } | null)?.id === 'string' ? JSON.stringify((t as { id: string }).id) : `#${i + 1}`;
    throw new EngineError('usage/bad-plan', `task ${id}: ${issue.path.join('.') || '(root)'}: ${issue.message}`.replace(/\s+/g, ' '));
  });
  const ids = new Set<string>();
  for (const t of tasks) {
    if (ids.has(t.id)) throw new EngineError('usage/bad-plan', `task ${t.id}: duplicate id`);
    ids.add(t.id);
  }
  for (const t of tasks) {
    for (const d of t.dependsOn) if (!ids.has(d) || d === t.id) throw new EngineError('usage/bad-plan', `task ${t.id}: depends on unknown task ${JSON.stringify(d)}`);
  }
  const cycle = findCycle(tasks);
  if (cycle) throw new EngineError('usage/bad-plan', `dependency cycle ${cycle.join(' -> ')}`);
  return { ...plan, tasks };
}

/**
 * Stores a run, its plan and its tasks (in plan order as `seq`) in one transaction.
 * Tasks without dependencies start `ready`, the others `pending`. The run starts `running`.
 * Ready-made patches and agent names stay in the stored plan JSON (schema v1 has no task column for them).
 * Throws `usage/bad-plan` for malformed tasks, duplicate ids, unknown dependencies or a cycle,
 * and `usage/too-large` for a goal, title or prompt over INPUT_LIMITS; nothing is stored then.
 */
export function createRun(db: Db, input: CreateRunInput): string {
  // Sizes first: `usage/too-large` names the field instead of a schema message.
  checkPlanSizes({ goal: input.goal, tasks: input.plan?.tasks });
  input = { ...input, plan: checkRunPlan(input.plan) };
  const runId = newId('run');
  const at = input.clock.now();
  const status: RunStatus = input.draft ? 'draft' : 'running';
  commitWithEvents(db, input.onEvent, (events) => {
    db.run(
      `INSERT INTO runs (id, goal, repo, base_commit, target_ref, status, approve, cost_usd, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`,
      [runId, input.goal, input.repo, input.baseCommit, input.targetRef ?? null, status, input.approve, at, at],
    );
    db.run('INSERT INTO plans (run_id, plan_json, created_at) VALUES (?, ?, ?)', [runId, JSON.stringify(input.plan), at]);
    insertTaskRows(db, runId, input.plan.tasks, at, (t) => (input.draft || t.dependsOn.length > 0 ? 'pending' : 'ready'));
    emit(db, events, { at, actor: 'system', kind: 'run/state', runId, to: status, data: { tasks: input.plan.tasks.length } });
  });
  return runId;
}

/** Writes a plan's tasks as rows (plan order is `seq`); call inside a transaction. */
export function insertTaskRows(db: Db, runId: string, tasks: RunPlanInput['tasks'], at: number, statusOf: (t: RunPlanInput['tasks'][number]) => TaskStatus): void {
  tasks.forEach((t, seq) => {
    db.run(
      `INSERT INTO tasks (run_id, id, seq, title, type, prompt, acceptance_json, depends_json, files_json, route_json, status, attempts, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)`,
      [runId, t.id, seq, t.title, t.type, t.prompt, JSON.stringify(t.acceptanceCriteria), JSON.stringify(t.dependsOn), JSON.stringify(t.files), t.route ? JSON.stringify(t.route) : null, statusOf(t), at],
    );
  });
}

export function getRunRow(db: Db, runId: string): RunRow | undefined {
  return db.get<RunRow>('SELECT * FROM runs WHERE id = ?', [runId]);
}

export function getTaskRows(db: Db, runId: string): TaskRow[] {
  return db.all<TaskRow>('SELECT * FROM tasks WHERE run_id = ? ORDER BY seq', [runId]);
}

/** The stored plan (with ready-made patches), or undefined for an unknown run. */
export function getStoredPlan(db: Db, runId: string): RunPlanInput | undefined {
  const row = db.get<{ plan_json: string }>('SELECT plan_json FROM plans WHERE run_id = ?', [runId]);
  return row ? (JSON.parse(row.plan_json) as RunPlanInput) : undefined;
}

export interface TaskTransition {
  runId: string;
  taskId: string;
  to: TaskStatus;
  /** Only move when the current status is one of these (compare-and-set). */
  from?: readonly TaskStatus[];
  reason?: string;
  actor?: Actor;
  at: number;
  error?: string | null;
  summary?: string | null;
  startedAt?: number;
  finishedAt?: number;
  data?: Record<string, unknown>;
}

/**
 * Moves a task inside the caller's transaction and appends a `task/state` event.
 * Returns false (and writes nothing) when the task does not exist or its status is not in `from`.
 */
export function transitionTask(db: Db, events: EngineEvent[], t: TaskTransition): boolean {
  const row = db.get<{ status: string }>('SELECT status FROM tasks WHERE run_id = ? AND id = ?', [t.runId, t.taskId]);
  if (!row) return false;
  if (t.from && !t.from.includes(row.status as TaskStatus)) return false;
  const sets = ['status = ?', 'updated_at = ?'];
  const params: Array<string | number | null> = [t.to, t.at];
  if (t.error !== undefined) (sets.push('error = ?'), params.push(t.error));
  if (t.summary !== undefined) (sets.push('result_summary = ?'), params.push(t.summary));
  if (t.startedAt !== undefined) (sets.push('started_at = ?'), params.push(t.startedAt));
  if (t.finishedAt !== undefined) (sets.push('finished_at = ?'), params.push(t.finishedAt));
  db.run(`UPDATE tasks SET ${sets.join(', ')} WHERE run_id = ? AND id = ?`, [...params, t.runId, t.taskId]);
  emit(db, events, {
    at: t.at, actor: t.actor ?? 'system', kind: 'task/state', runId: t.runId, taskId: t.taskId,
    from: row.status, to: t.to, reason: t.reason, data: t.data,
  });
  return true;
}

/** `transitionTask` in its own durable transaction; fires `onEvent` after the commit. */
export function setTaskStatus(db: Db, t: TaskTransition, onEvent?: OnEvent): boolean {
  return commitWithEvents(db, onEvent, (events) => transitionTask(db, events, t));
}

/** Moves a run inside the caller's transaction (no-op when already in `to`). */
export function transitionRun(db: Db, events: EngineEvent[], runId: string, to: RunStatus, at: number, opts: { reason?: string; error?: string | null; actor?: Actor } = {}): boolean {
  const row = db.get<{ status: string }>('SELECT status FROM runs WHERE id = ?', [runId]);
  if (!row || row.status === to) return false;
  db.run('UPDATE runs SET status = ?, error = ?, updated_at = ? WHERE id = ?', [to, opts.error ?? null, at, runId]);
  emit(db, events, { at, actor: opts.actor ?? 'system', kind: 'run/state', runId, from: row.status, to, reason: opts.reason });
  return true;
}

/**
 * Every task that depends on `taskId`, directly or not, in plan order.
 */
export function dependentsOf(tasks: ReadonlyArray<{ id: string; depends_json: string }>, taskId: string): string[] {
  const deps = new Map(tasks.map((t) => [t.id, JSON.parse(t.depends_json) as string[]]));
  const hit = new Set<string>([taskId]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const t of tasks) {
      if (hit.has(t.id)) continue;
      if (deps.get(t.id)!.some((d) => hit.has(d))) {
        hit.add(t.id);
        grew = true;
      }
    }
  }
  hit.delete(taskId);
  return tasks.filter((t) => hit.has(t.id)).map((t) => t.id);
}
