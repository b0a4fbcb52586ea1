import os from 'node:os';
import { describeError, isEngineError } from '../errors';
import { git } from '../git/exec';
import { isAncestor } from '../git/mergeTree';
import type { QueueContext } from './context';
import { getEntry } from './entries';
import type { EntryRow, RecoveryReport } from './types';
import { finishInterruptedUpdate, worktreeWithRef } from './worktree';

/**
 * Finds the commit that landed `entry`, if any: its recorded candidate when the target
 * contains it, or else a first-parent commit since old_tip carrying its `Hyperion-Change`
 * trailer. This is what keeps landing exactly-once across crashes.
 */
export async function findLanded(ctx: QueueContext, entry: EntryRow, tip: string): Promise<string | undefined> {
  if (entry.candidate_commit && (await isAncestor(ctx.repo, entry.candidate_commit, tip))) return entry.candidate_commit;
  if (entry.kind !== 'land' || !entry.old_tip) return undefined;
  const log = await git(['log', '--first-parent', '-z', '--format=%H%n%B', `${entry.old_tip}..${tip}`], { cwd: ctx.repo, check: false });
  if (log.code !== 0) return undefined;
  for (const rec of log.stdout.split('\0')) {
    const [sha, ...body] = rec.split('\n');
    if (body.some((l) => l.trim() === `Hyperion-Change: ${entry.change_id}`)) return sha;
  }
  return undefined;
}

/**
 * Settles an entry whose lease died while it was in flight: `merged` when its commit is on
 * the target, otherwise back to `queued` (keeping the proposal, which is still valid).
 * Returns the resulting state, or undefined when someone else settled it first.
 */
export async function settleStale(
  ctx: QueueContext,
  entry: EntryRow,
  markMerged: (e: EntryRow, commit: string, reason: string) => void,
  reason: string,
): Promise<'merged' | 'queued' | undefined> {
  try {
    const landed = await findLanded(ctx, entry, await ctx.tip());
    if (landed) {
      if (entry.state !== 'landing') ctx.move(entry, 'landing', { actor: 'queue', reason: 'recovery found the commit on the target' });
      markMerged(entry, landed, `${reason}; the commit was already on the target`);
      return 'merged';
    }
    ctx.move(entry, 'queued', {
      actor: 'queue', reason, set: { candidate_commit: null, old_tip: null, last_error: reason },
    });
    return 'queued';
  } catch (e) {
    const now = getEntry(ctx.db, entry.id);
    if (now && now.state !== entry.state) return undefined; // another worker got there first
    throw e;
  }
}

/**
 * True when a lease was taken by a process of this host that no longer runs (owner names are
 * `<host>:<pid>/<pass>`, see createMergeQueue). Such a lease can never be renewed or released,
 * so it is as good as expired: waiting out its length only stalls the queue.
 */
export function leaseHolderDead(owner: string | null): boolean {
  const m = owner ? /^(.*):(\d+)\/\d+$/.exec(owner) : null;
  if (!m || m[1] !== os.hostname()) return false;
  const pid = Number(m[2]);
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'EPERM';
  }
}

/** Recovery at start: interrupted worktree updates, our stale locks, and in-flight entries. */
export async function recoverQueue(
  ctx: QueueContext,
  workerPrefix: string,
  markMerged: (e: EntryRow, commit: string, reason: string) => void,
): Promise<RecoveryReport> {
  const report: RecoveryReport = { merged: [], requeued: [], worktreeFinished: false, removedLocks: [] };
  const wt = await worktreeWithRef(ctx.repo, ctx.ref);
  if (wt) {
    const r = await finishInterruptedUpdate(wt, await ctx.tip());
    report.removedLocks.push(...r.removedLocks);
    report.worktreeFinished = r.finished;
  }
  await git(['worktree', 'prune'], { cwd: ctx.repo, check: false });
  const now = ctx.deps.clock.now();
  const rows = ctx.db.all<EntryRow>(
    `SELECT * FROM queue_entries WHERE target_ref = ? AND state IN ('checking', 'landing', 'conflicted') ORDER BY seq`,
    [ctx.ref],
  ).filter((r) => r.lease_owner === null || r.lease_expires_at === null || r.lease_expires_at < now
    || r.lease_owner.startsWith(`${workerPrefix}/`) || leaseHolderDead(r.lease_owner));
  for (const row of rows) {
    const r = await settleStale(ctx, row, markMerged, 'recovered after an interrupted run');
    if (r === 'merged') report.merged.push(row.id);
    else if (r === 'queued') report.requeued.push(row.id);
  }
  return report;
}

/** Tries to release an in-flight entry at the end of a pass (each try may wait a store lock timeout). */
const RELEASE_ATTEMPTS = 8;

/**
 * Leaves no entry leased by `owner` when its pass ends (normally, by error or cancellation),
 * so a process that exits right after never strands one for a lease's length: `landing` ones
 * settle from the ref (merged when their commit is on it), the rest go back to the queue.
 */
export async function releaseInFlight(
  ctx: QueueContext,
  owner: string,
  markMerged: (e: EntryRow, commit: string, reason: string) => void,
): Promise<void> {
  const left = ctx.db.all<EntryRow>("SELECT * FROM queue_entries WHERE lease_owner = ? AND state IN ('checking', 'landing') ORDER BY seq", [owner]);
  for (const row of left) {
    // A store busy with another process's writes (store/locked) is the usual reason this
    // fails, and the process may exit right after: keep trying for a while rather than leave
    // the entry `landing` under a lease nobody renews (issue 9, D).
    for (let attempt = 1; ; attempt++) {
      try {
        const landed = row.state === 'landing' ? await findLanded(ctx, row, await ctx.tip()) : undefined;
        if (landed) markMerged(row, landed, `landed as ${landed.slice(0, 10)}`);
        else ctx.move(row, 'queued', { actor: 'queue', owner, reason: 'the pass ended with the entry in flight', set: { candidate_commit: null, old_tip: null } });
        break;
      } catch (e) {
        if (isEngineError(e, 'queue/lease-lost')) break; // someone else settled it
        if (attempt < RELEASE_ATTEMPTS && isEngineError(e, 'store/')) {
          await new Promise((r) => setTimeout(r, 100 * attempt));
          continue;
        }
        ctx.deps.log.warn('could not release a queue entry at the end of the pass; its lease will expire', { entry: row.id, error: describeError(e) });
        break;
      }
    }
  }
}
