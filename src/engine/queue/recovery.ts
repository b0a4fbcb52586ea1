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
    `SELECT * FROM queue_entries WHERE target_ref = ? AND state IN ('checking', 'landing', 'conflicted')
     AND (lease_owner IS NULL OR lease_expires_at IS NULL OR lease_expires_at < ? OR lease_owner LIKE ?) ORDER BY seq`,
    [ctx.ref, now, `${workerPrefix}/%`],
  );
  for (const row of rows) {
    const r = await settleStale(ctx, row, markMerged, 'recovered after an interrupted run');
    if (r === 'merged') report.merged.push(row.id);
    else if (r === 'queued') report.requeued.push(row.id);
  }
  return report;
}
