import type { EngineConfig, ModelRef } from './config';
import type { EngineEvent } from './events';
import type { Plan, PlanTask } from './plan/schema';
import type { WorkerInfo } from './distributed/workerRegistry';
import type { WorkerRunView } from './distributed/workerRuns';

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
export type RunStatus = 'draft' | 'planning' | 'running' | 'awaiting-review' | 'landing' | 'paused' | 'done' | 'failed' | 'cancelled';
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
  /** While the task runs a coding agent: what it is doing now ("editing src/a.ts", "running npm test"). */
  activity?: string;
  /** The configured coding agent that runs (or will run, or ran) the task; undefined for the built-in developer. */
  agent?: string;
  /** Its change was accepted in part (some hunks); hosts show "partly accepted". */
  partlyAccepted?: boolean;
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
  /** True when the user accepted only some of its hunks; the rest are kept in its history. */
  partlyAccepted?: boolean;
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
  /** Of `running`, the tasks running on workers (`hyperion worker`); absent when none ever did. */
  runningRemotely?: number;
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

/** A comment a person writes on a change: on a line of a file, on a file, or (no path) on the whole change. */
export interface NewComment {
  path?: string;
  /** 1-based, in the proposed file. */
  line?: number;
  body: string;
}

export interface ChangeCommentView extends NewComment {
  id: string;
  changeId: string;
  /** The version it was written on. */
  version: number;
  author: 'user' | 'reviewer';
  createdAt: number;
  /** The version whose Request Changes sent it to the agent. */
  sentInVersion?: number;
  /** The version the agent made from it, and its summary of what it did. */
  answeredInVersion?: number;
  answer?: string;
}

/** One reviewable unit of a change: a hunk of a modified file, or a whole added, deleted, renamed or binary file. */
export interface HunkView {
  path: string;
  /** 0-based among the units of its file; what `acceptHunks` names. */
  index: number;
  wholeFile: boolean;
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  /** Body lines with their ' ', '+', '-' or '\\' prefix. */
  lines: string[];
}

/** A version of a change: the current one, or an earlier one kept when it was replaced. */
export interface ChangeVersionView {
  version: number;
  baseCommit: string;
  patch: string;
  current: boolean;
  /** Why it was replaced (a regeneration, a partial acceptance, a change request). */
  reason?: string;
  replacedAt?: number;
  /** For a version accepted in part: the hunks the user rejected, as a patch over the accepted ones. */
  rejectedPatch?: string;
}

export interface Engine {
  readonly config: EngineConfig;
  /**
   * Fires for every state change (task, change, queue, run); payload is the audit event. Also
   * fires `task/progress` (`data.text`: what a running agent is doing; throttled, never in the
   * audit log), which hosts may show as it comes or read back as `TaskView.activity`.
   * With `watchStore` it also fires `store/changed` (never in the audit log) after it took in
   * what another process wrote (a CLI run): every view may have changed.
   */
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
  /**
   * The stored transcript (bounded: head and tail, ~256 KB) of a task's coding agent: its latest
   * attempt, or attempt `attempt` (1-based). Undefined when the task ran no agent or the run was deleted.
   */
  taskTranscript(runId: string, taskId: string, attempt?: number): Promise<string | undefined>;
  /** Stores a plan as a `draft` run: shown in the views, nothing runs until `startDraft`. */
  draftRun(plan: RunnablePlan, opts?: { approve?: 'none' | 'all' }): Promise<string>;
  /** A draft run's plan with what the validator says about it; undefined when the run is not a draft. */
  getDraft(runId: string): DraftView | undefined;
  /** Applies one edit to a draft, validates it at once and returns the new draft (`plan/bad-edit`, `plan/not-draft`). */
  editDraft(runId: string, edit: DraftEdit): Promise<DraftView>;
  /** Starts a valid draft (`plan/invalid` while it has a cycle); resolves like `startRun`. */
  startDraft(runId: string, opts?: StartRunOptions): Promise<{ runId: string; done: Promise<RunView> }>;
  /** Per task: files and lines changed, reviewer verdict, checks, cost, time and commit; totals; what still waits. */
  runSummary(runId: string): Promise<RunSummary>;
  /** The reviewable units (hunks) of a change's current version. */
  listHunks(changeId: string): HunkView[];
  /**
   * Accepts only the given hunks of `version`: they become version + 1, approved and queued in
   * one transaction (policy checked again); the rest are kept in the change's history.
   * Accepting every hunk is a plain approval. Throws `usage/unknown-hunk`, `usage/bad-state`,
   * `usage/nothing-left`, `patch/does-not-apply`, `policy/…`.
   */
  acceptHunks(changeId: string, opts: { hunks: Array<{ path: string; index: number }>; version: number }): Promise<{ version: number }>;
  /** Stores a comment on the change's current version, to be sent by `requestChanges`. */
  addComment(changeId: string, comment: NewComment): ChangeCommentView;
  /** The user's and the reviewer agent's comments on a change. */
  listComments(changeId: string): ChangeCommentView[];
  /**
   * Sends the change's unsent comments (and `comments`) to its agent, which makes the next
   * version; resolves with it once stored (still waiting for review). Throws `usage/bad-state`
   * (not waiting for review, regenerated since `version`, already being revised),
   * `usage/unsupported` (a ready-made patch has no agent), `usage/empty-comment`, agent and
   * provider errors (the comments stay unsent).
   */
  requestChanges(changeId: string, opts?: { comments?: NewComment[]; version?: number; signal?: AbortSignal }): Promise<{ version: number }>;
  /** Every version of a change, oldest first, the current one last. */
  listVersions(changeId: string): ChangeVersionView[];
  /** A file as a given version of the change leaves it (undefined when that version deletes or never has it). */
  readVersionFile(changeId: string, version: number, path: string): Promise<string | undefined>;
  /**
   * The workers connected to `distributed.redisUrl` (name, host, tasks they run, last
   * heartbeat); empty when tasks run in this process. Throws `distributed/…` when Redis
   * cannot be used.
   */
  listWorkers(): Promise<WorkerView[]>;
  /** Which workers ran each attempt of a task that ran on workers, oldest first. */
  listWorkerRuns(runId: string, taskId: string): WorkerRunView[];
  dispose(): Promise<void>;
}

/** Fields of a draft task the user can edit; `null` clears an agent or model. */
export interface DraftTaskFields {
  title?: string;
  prompt?: string;
  acceptanceCriteria?: string[];
  files?: string[];
  type?: PlanTask['type'];
  agent?: string | null;
  model?: string | null;
}

/** One edit of a draft plan. A dependency edge `from` → `to` means `to` depends on `from`. */
export type DraftEdit =
  | { kind: 'task/update'; taskId: string; fields: DraftTaskFields }
  | { kind: 'task/add'; task: DraftTaskFields & { id?: string; title: string; dependsOn?: string[] } }
  | { kind: 'task/remove'; taskId: string }
  | { kind: 'dependency/add'; from: string; to: string }
  | { kind: 'dependency/remove'; from: string; to: string };

/** A draft run as the user edits it: the plan, the validator's errors and the edges on a cycle. */
export interface DraftView {
  runId: string;
  plan: RunnablePlan;
  errors: string[];
  cycleEdges: Array<{ from: string; to: string }>;
  /** Why the draft step appeared: the planner's questions and assumptions. */
  questions: string[];
  assumptions: string[];
}

/** One check command run while landing a task's change. */
export interface SummaryCheck {
  command: string;
  attempt: number;
  exitCode: number | null;
  timedOut: boolean;
  durationMs?: number;
  passed: boolean;
}

export interface SummaryTask {
  id: string;
  title: string;
  status: TaskStatus;
  /** Files of the change that lands (left-out files excluded), with their line counts. */
  files: Array<{ path: string; added: number; removed: number }>;
  linesAdded: number;
  linesRemoved: number;
  reviewVerdict?: 'approve' | 'request_changes';
  checks: SummaryCheck[];
  costUsd: number;
  /** False when the task's model has no price: its cost is counted as 0 and shows as "—". */
  costKnown: boolean;
  durationMs?: number;
  commit?: string;
  /** Why the task has not landed yet (waiting for review, blocked, queued…), when it has not. */
  waiting?: string;
}

/** What a settled run did, built from its views by a pure function (usecases/runSummary.ts). */
export interface RunSummary {
  runId: string;
  goal: string;
  status: RunStatus;
  baseCommit?: string;
  tasks: SummaryTask[];
  totals: { tasks: number; merged: number; files: number; linesAdded: number; linesRemoved: number; costUsd: number; costKnown: boolean; durationMs: number; checksRun: number; checksFailed: number };
  /** Tasks still waiting for something (review, the queue, an agent), one sentence each. */
  waiting: Array<{ taskId: string; reason: string }>;
}


/** A worker as `hyperion workers` and the sidebar show it. */
export type WorkerView = WorkerInfo;
export type { WorkerRunView };
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
