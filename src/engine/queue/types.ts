import type { CheckRunner } from '../distributed/checks';
import type { ChangeVerification, CheckOutputView, QueueEntryView, QueueState } from '../api';
import type { EngineConfig } from '../config';
import type { Actor, EngineEvent } from '../events';
import type { Clock, Logger } from '../ports';
import type { Db } from '../store/types';
import type { ChangeRow as StoredChangeRow } from '../runs/types';

/** Named points just before/after each irreversible landing step; tests kill the process there. */
export type CrashPointName =
  | 'after-lease'
  | 'after-proposal'
  | 'after-commit-tree'
  | 'before-update-ref'
  | 'after-update-ref'
  | 'mid-worktree-update'
  | 'before-merged';

export interface RegenerateRequest {
  changeId: string;
  newTip: string;
  conflictPaths: string[];
}

export interface RegeneratedChange {
  patch: string;
  baseCommit: string;
  summary?: string;
  /** The reviewer agent's verdict on the new patch; null when it was not reviewed. */
  review?: { verdict: string; comments: string } | null;
  /** The new patch's own check, when its developer ran one. */
  verification?: ChangeVerification;
}

export interface MergeQueueDeps {
  db: Db;
  repo: string;
  /** Full ref name or branch name; default: the branch HEAD points to. */
  targetRef?: string;
  config: EngineConfig;
  log: Logger;
  clock: Clock;
  onEvent?: (e: EngineEvent) => void;
  /** Prefix of this process's lease owner names; default `<host>:<pid>`. */
  workerId?: string;
  /** Asks the agent for a patch against `newTip`; undefined = give up (the entry is quarantined). */
  regenerate?: (req: RegenerateRequest) => Promise<RegeneratedChange | undefined>;
  /** After a regenerated change went back to review (the engine re-approves it under approve-all). Errors are the callee's. */
  onReturnedForReview?: (changeId: string) => Promise<void>;
  /** True when the editor holds unsaved edits to `path` (repo-relative). */
  isPathDirtyInEditor?: (path: string) => boolean;
  /** Test hook, called at each named step. */
  crashPoint?: (name: CrashPointName) => void;
  /** Lease length; renewed every third of it while a worker holds the entry. Default 30 s. */
  leaseMs?: number;
  /** How often a conflicted change may be regenerated before it is quarantined. Default 3. */
  maxRegenerations?: number;
  /** Called with the wall time of each queue step (bench/queue.bench.ts prints them). */
  profile?: (step: string, ms: number) => void;
  /** Where candidates are checked (default `runCheck` here; `distributed.checks`: on workers). */
  runCheck?: CheckRunner;
}

export interface EnqueueOptions {
  actor: Actor;
  explicitApproval?: boolean;
  dependsOnChangeIds?: string[];
  /** When given, the events are appended here for the caller to publish after its transaction commits. */
  events?: EngineEvent[];
}

export interface RecoveryReport {
  /** Entries found mid-landing whose commit was already on the target: now `merged`. */
  merged: string[];
  /** Entries found in flight with a dead lease: back to `queued`. */
  requeued: string[];
  /** True when an interrupted worktree update was finished. */
  worktreeFinished: boolean;
  /** Lock files we left behind and removed. */
  removedLocks: string[];
}

export interface QueueMetrics {
  /** Merged entries per minute between the first queue event and the last merge. */
  throughputPerMin: number;
  /** Entries that were ever conflicted / entries that reached an end state. */
  conflictRate: number;
  /** Merged / entries that reached an end state (merged, failed, quarantined, rejected). */
  successRate: number;
  /** Mean time an entry spends in each state per visit, in ms. */
  timeInState: Partial<Record<QueueState, number>>;
}

export interface MergeQueue {
  /** Queues an approved change. Throws `policy/blocked` or `policy/needs-approval`, or `queue/…` for a bad id. */
  enqueue(changeId: string, opts: EnqueueOptions): QueueEntryView;
  /** Moves a not-yet-landed entry to `rejected`. Throws `queue/not-found` or `queue/bad-state`. */
  reject(entryId: string, reason: string): QueueEntryView;
  /** Puts a failed/quarantined/rejected/conflicted/blocked entry back in the queue. */
  retry(entryId: string): QueueEntryView;
  /** Queues a revert of a merged change (by change id or entry id) through the same queue. */
  revert(changeOrEntryId: string): QueueEntryView;
  /** Runs workers until nothing is runnable; first requeues the blocked entries whose files are clean. */
  runUntilIdle(signal?: AbortSignal): Promise<void>;
  /** Requeues the blocked entries whose blocking files are clean now; returns how many. */
  recheckBlocked(signal?: AbortSignal): Promise<number>;
  /** Settles entries left in flight by a crash. Call once at start, before runUntilIdle. */
  recover(): Promise<RecoveryReport>;
  /** Every entry, with why it waits or stopped (`reason`). */
  list(): QueueEntryView[];
  /** The check output of an entry's latest (or given) attempt. */
  checkOutput(entryId: string, attempt?: number): CheckOutputView | undefined;
  metrics(): QueueMetrics;
  /** The full target ref name (e.g. `refs/heads/main`), resolved when the queue was created. */
  targetRef(): string;
}

/** A queue_entries row. */
export interface EntryRow {
  id: string;
  change_id: string;
  run_id: string;
  task_id: string;
  kind: 'land' | 'revert';
  target_ref: string;
  state: QueueState;
  seq: number;
  depends_json: string;
  lease_owner: string | null;
  lease_expires_at: number | null;
  attempts: number;
  last_error: string | null;
  proposal_commit: string | null;
  candidate_commit: string | null;
  landed_commit: string | null;
  old_tip: string | null;
  repairs_json: string;
  conflict_paths_json: string;
  /** The paths a `blocked` entry waits on (migration 3). */
  blocked_paths_json: string;
  created_at: number;
  updated_at: number;
}

/** A change_requests row: the columns the queue reads (the table belongs to runs/). */
export type ChangeRow = Pick<
  StoredChangeRow,
  'id' | 'run_id' | 'task_id' | 'base_commit' | 'patch' | 'files_json' | 'excluded_files_json' | 'summary' | 'model' | 'needs_explicit_approval' | 'policy_json' | 'status' | 'approved_patch_hash' | 'version'
>;

export function toView(r: EntryRow): QueueEntryView {
  return {
    id: r.id,
    changeId: r.change_id,
    runId: r.run_id,
    taskId: r.task_id,
    kind: r.kind,
    state: r.state,
    attempts: r.attempts,
    lastError: r.last_error ?? undefined,
    landedCommit: r.landed_commit ?? undefined,
    conflictPaths: JSON.parse(r.conflict_paths_json) as string[],
    updatedAt: r.updated_at,
  };
}
