import type { EngineConfig, ModelRef } from './config';
import type { EngineEvent } from './events';
import type { Plan, PlanTask } from './plan/schema';

/** A plan the engine can run: tasks may carry a route and, from a TaskRequest file, a ready-made patch. */
export type RunnablePlan = Omit<Plan, 'tasks'> & { tasks: Array<PlanTask & { route?: ModelRef; patch?: string; agent?: string; model?: string }> };

/**
 * The engine as its hosts (the VS Code extension and the CLI) see it. Hosts hold no state
 * of their own: every view is a projection of what `Engine` returns, refreshed on `onDidChange`.
 */
/**
 * A run's status as hosts show it, derived in one place (runs/status.ts) from its tasks and
 * queue entries: `awaiting-review` while a change waits for the user, `landing` while approved
 * changes are still in the queue, `failed` when any task or landing failed.
 */
export type RunStatus = 'planning' | 'running' | 'awaiting-review' | 'landing' | 'paused' | 'done' | 'failed' | 'cancelled';
export type TaskStatus =
  | 'pending' | 'ready' | 'running' | 'proposed' | 'approved' | 'rejected'
  | 'merged' | 'failed' | 'skipped' | 'cancelled';
export type ChangeStatus = 'proposed' | 'approved' | 'rejected' | 'queued' | 'merged' | 'failed' | 'superseded' | 'reverted';
export type QueueState =
  | 'queued' | 'checking' | 'landing' | 'merged' | 'conflicted' | 'failed'
  | 'quarantined' | 'rejected' | 'reverted' | 'blocked'
  /** The change was regenerated after a conflict and went back to review; a new entry lands it. */
  | 'superseded';

/** Task statuses the user can retry (run the agent again). */
export const RETRYABLE_TASK_STATUSES: readonly TaskStatus[] = ['failed', 'skipped', 'rejected', 'cancelled'];
export function isRetryableTask(status: TaskStatus): boolean {
  return RETRYABLE_TASK_STATUSES.includes(status);
}

/** Queue states an entry never leaves by itself. */
export const SETTLED_ENTRY_STATES: readonly QueueState[] = ['merged', 'failed', 'quarantined', 'rejected', 'reverted', 'superseded'];
export function isSettledEntry(state: QueueState): boolean {
  return SETTLED_ENTRY_STATES.includes(state);
}

/** Queue states that stopped and can be retried (`retryEntry`). */
export const STOPPED_ENTRY_STATES: readonly QueueState[] = ['failed', 'quarantined', 'rejected', 'conflicted', 'blocked'];
export function isStoppedEntry(state: QueueState): boolean {
  return STOPPED_ENTRY_STATES.includes(state);
}

/** Runs that still have work in flight (agents running or about to). */
export const BUSY_RUN_STATUSES: readonly RunStatus[] = ['planning', 'running', 'paused'];
export function isBusyRun(status: RunStatus): boolean {
  return BUSY_RUN_STATUSES.includes(status);
}

export interface TaskView extends PlanTask {
  runId: string;
  status: TaskStatus;
  route?: ModelRef;
  summary?: string;
  error?: string;
  attempts: number;
  costUsd: number;
  changeId?: string;
  commit?: string;
  startedAt?: number;
  finishedAt?: number;
}

export interface RunView {
  id: string;
  goal: string;
  status: RunStatus;
  baseCommit?: string;
  costUsd: number;
  createdAt: number;
  error?: string;
  tasks: TaskView[];
}

export interface ChangeView {
  id: string;
  runId: string;
  taskId: string;
  taskTitle: string;
  baseCommit: string;
  patch: string;
  files: string[];
  excludedFiles: string[];
  summary: string;
  model?: string;
  costUsd: number;
  reviewVerdict?: 'approve' | 'request_changes';
  reviewComments?: string;
  needsExplicitApproval: boolean;
  /** Why an explicit approval is needed (each rule that asked for it), even under approve-all. */
  explicitApprovalReasons: string[];
  /** 1 for the agent's first patch, +1 for every regeneration after a conflict. */
  version: number;
  /** Hash of the patch text the approval was given to; an approval never carries to another patch. */
  approvedPatchHash?: string;
  policy: Array<{ rule: string; path?: string; message: string }>;
  status: ChangeStatus;
  error?: string;
  /** The change's own check in the task's worktree, when the developer ran one. */
  verification?: ChangeVerification;
}

export interface QueueEntryView {
  id: string;
  changeId: string;
  runId: string;
  taskId: string;
  kind: 'land' | 'revert';
  state: QueueState;
  attempts: number;
  lastError?: string;
  landedCommit?: string;
  conflictPaths: string[];
  updatedAt: number;
  /** Why the entry waits or stopped, as a sentence ("waiting for t1", "blocked: README.md has unsaved edits"). */
  reason?: string;
  /** True when a check command ran for this entry and its output can be read (getCheckOutput). */
  hasCheckOutput?: boolean;
  /** For a `blocked` entry: the repo-relative paths it waits on (what a host's file watcher watches). */
  blockedPaths?: string[];
}

/** The bounded output of the check command of one landing attempt. */
export interface CheckOutputView {
  entryId: string;
  attempt: number;
  command: string;
  exitCode: number | null;
  timedOut: boolean;
  /** Head and tail of stdout+stderr, at most ~1 MB. */
  output: string;
  truncated: boolean;
  /** The first lines that say what failed (what `reason` shows). */
  failingLines: string[];
}

/** One request (run) in the history list: goal, when, status and task counts. */
export interface RequestView {
  runId: string;
  goal: string;
  createdAt: number;
  status: RunStatus;
  taskCounts: Partial<Record<TaskStatus, number>>;
  costUsd: number;
}

export interface QueueSummary {
  running: number;
  awaitingReview: number;
  queued: number;
  merged: number;
  failed: number;
  blocked: number;
  costUsd: number;
}

export interface QueueMetricsView {
  /** Merged entries per minute between the first queue event and the last merge. */
  throughputPerMin: number;
  conflictRate: number;
  successRate: number;
  /** Mean milliseconds per visit to each state. */
  timeInState: Partial<Record<QueueState, number>>;
}

export interface PlanOptions {
  signal?: AbortSignal;
  /** Extra context from the host (selection, open file), already trimmed. */
  context?: string;
  constraints?: string[];
}

export interface StartRunOptions {
  signal?: AbortSignal;
  /** 'all' approves every change automatically except those that need explicit approval. */
  approve?: 'none' | 'all';
}

export interface Engine {
  readonly config: EngineConfig;
  /** Fires for every state change (task, change, queue, run); payload is the audit event. */
  readonly onDidChange: (listener: (e: EngineEvent) => void) => { dispose(): void };
  plan(goal: string, opts?: PlanOptions): Promise<RunnablePlan>;
  /** Stores the plan as a run and starts its agents; resolves when the run settles. */
  startRun(plan: RunnablePlan, opts?: StartRunOptions): Promise<{ runId: string; done: Promise<RunView> }>;
  cancelRun(runId: string): Promise<void>;
  retryTask(runId: string, taskId: string): Promise<void>;
  listRuns(limit?: number): RunView[];
  getRun(runId: string): RunView | undefined;
  listChanges(filter?: { runId?: string; status?: ChangeStatus }): ChangeView[];
  getChange(changeId: string): ChangeView | undefined;
  /** Approves a change (optionally without some files) and enqueues it for landing. */
  /**
   * Approves a change (optionally without some files) and enqueues it, in one transaction.
   * `version` is the version the user reviewed: a change regenerated since is refused.
   */
  approveChange(changeId: string, opts?: { excludeFiles?: string[]; explicit?: boolean; version?: number }): Promise<void>;
  rejectChange(changeId: string, reason?: string): Promise<void>;
  /** Reverts a merged change through the queue. */
  revertChange(changeId: string): Promise<void>;
  listQueue(): QueueEntryView[];
  /** Puts a conflicted, failed, quarantined or blocked entry back in the queue. */
  retryEntry(entryId: string): Promise<void>;
  /** Lands everything that can land now; resolves when the queue is idle. */
  runQueue(signal?: AbortSignal): Promise<void>;
  queueSummary(): QueueSummary;
  /** Throughput, conflict and success rates and time in each state, from the audit log. */
  queueMetrics(): QueueMetricsView;
  /** Base file content at the change's base commit, for the diff editor's left side. */
  readBaseFile(changeId: string, path: string): Promise<string | undefined>;
  /** Proposed file content, for the diff editor's right side. */
  readProposedFile(changeId: string, path: string): Promise<string | undefined>;
  history(limit?: number): TaskView[];
  /** The last `limit` (default 100) requests, newest first. */
  listRequests(limit?: number): RequestView[];
  /** Removes a settled run and every row that belongs to it (tasks, changes, entries, events). */
  deleteRun(runId: string): Promise<void>;
  /** The folder of a task's kept worktree (its agent failed or was stopped), or undefined when there is none. */
  taskWorktreePath(runId: string, taskId: string): Promise<string | undefined>;
  /** The check output of an entry's latest (or given) attempt. */
  getCheckOutput(entryId: string, attempt?: number): CheckOutputView | undefined;
  /** Re-checks blocked entries now (a blocking file was saved or committed); lands what can land. */
  recheckBlocked(): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * The result of a change's own check, run by the built-in developer in the task's worktree
 * before it finished (issue 11). Absent when the task had no check or another agent ran it.
 */
export interface ChangeVerification {
  command: string;
  passed: boolean;
  exitCode: number | null;
  timedOut: boolean;
  /** Tests counted from the output, when the runner's summary could be read. */
  counts?: { passed: number; failed: number; total: number };
  /** The lines that say what failed (empty when it passed). */
  failingLines: string[];
  durationMs: number;
}
