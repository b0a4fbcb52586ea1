import { execFileSync } from 'node:child_process';
import { EngineError } from '../errors';
import type { EngineEvent } from '../events';
import { git } from '../git/exec';
import type { Db } from '../store/types';
import { transition, transitionMany, type TransitionOptions } from './entries';
import type { EntryRow, MergeQueueDeps } from './types';

/** What the queue's parts share: dependencies, the resolved ref, and event publishing. */
export interface QueueContext {
  deps: MergeQueueDeps;
  db: Db;
  repo: string;
  ref: string;
  leaseMs: number;
  crash(name: Parameters<NonNullable<MergeQueueDeps['crashPoint']>>[0]): void;
  /** transition() + publish to onEvent after the transaction committed. */
  move(entry: EntryRow, to: EntryRow['state'], o: Omit<TransitionOptions, 'at'> & { at?: number }): EngineEvent;
  /** Several moves in one durable transaction, then published. */
  moveMany(moves: Array<{ entry: EntryRow; to: EntryRow['state']; o: Omit<TransitionOptions, 'at'> & { at?: number } }>): EngineEvent[];
  tip(): Promise<string>;
  /** The tip commit and its tree, from one git process. */
  tipAndTree(): Promise<[string, string]>;
  /** Worktree path → its absolute git dir (never changes for a path), shared by lookups. */
  gitDirs: Map<string, string>;
  /** performance.now(), for time(). */
  timer(): number;
  /** Reports `step` took since `t0` to deps.profile, if any. */
  time(step: string, t0: number): void;
}

export function makeContext(deps: MergeQueueDeps, ref: string): QueueContext {
  const ctx: QueueContext = {
    deps,
    db: deps.db,
    repo: deps.repo,
    ref,
    leaseMs: deps.leaseMs ?? 30_000,
    crash: (name) => deps.crashPoint?.(name),
    move(entry, to, o) {
      const ev = transition(deps.db, entry, to, { ...o, at: o.at ?? deps.clock.now() });
      logFailure(deps, ev);
      publish(deps, ev);
      return ev;
    },
    moveMany(moves) {
      const now = deps.clock.now();
      const evs = transitionMany(deps.db, moves.map((m) => ({ entry: m.entry, to: m.to, o: { ...m.o, at: m.o.at ?? now } })));
      for (const ev of evs) {
        logFailure(deps, ev);
        publish(deps, ev);
      }
      return evs;
    },
    async tip() {
      return (await git(['rev-parse', '--verify', `${ref}^{commit}`], { cwd: deps.repo })).stdout.trim();
    },
    async tipAndTree() {
      const r = await git(['rev-parse', `${ref}^{commit}`, `${ref}^{tree}`], { cwd: deps.repo });
      const [c, t] = r.stdout.trim().split('\n');
      return [c!, t!];
    },
    gitDirs: new Map(),
    timer: () => performance.now(),
    time(step, t0) {
      deps.profile?.(step, performance.now() - t0);
    },
  };
  return ctx;
}

/**
 * Every landing that stops short of merging is logged (the extension's output channel is this
 * logger), with the entry, task and reason: the queue row alone is easy to miss.
 */
function logFailure(deps: MergeQueueDeps, ev: EngineEvent): void {
  if (ev.kind !== 'queue/state') return;
  const fields = { entry: ev.subjectId, task: ev.taskId, run: ev.runId, change: ev.data?.changeId, reason: ev.reason };
  switch (ev.to) {
    case 'failed':
    case 'quarantined':
      deps.log.error(`landing ${ev.to}`, fields);
      return;
    case 'conflicted':
    case 'blocked':
      deps.log.warn(`landing ${ev.to}`, fields);
      return;
    case 'rejected':
      // A user's rejection is their own act; the queue rejecting a dependent is news.
      if (ev.actor === 'queue') deps.log.warn('landing rejected', fields);
      return;
    default:
      return;
  }
}

export function publish(deps: MergeQueueDeps, ev: EngineEvent): void {
  try {
    deps.onEvent?.(ev);
  } catch (e) {
    deps.log.warn('queue event listener threw', { error: String(e) });
  }
}

/**
 * Resolves the target ref once, synchronously (enqueue() is synchronous): the given one
 * (branch names become refs/heads/…) or the branch HEAD points to. Throws `queue/detached-head`.
 */
export function resolveTargetRef(repo: string, targetRef: string | undefined): string {
  if (targetRef) return targetRef.startsWith('refs/') ? targetRef : `refs/heads/${targetRef}`;
  try {
    const ref = execFileSync('git', ['symbolic-ref', '-q', 'HEAD'], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (ref) return ref;
  } catch {
    // fall through
  }
  throw new EngineError('queue/detached-head', 'HEAD is detached; set targetRef to the branch the queue should land on');
}
