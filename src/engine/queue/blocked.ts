import { isEngineError } from '../errors';
import type { QueueContext } from './context';
import { withLandingLock } from './landingLock';
import type { EntryRow } from './types';
import { dirtyPaths, worktreeWithRef } from './worktree';

/**
 * Puts back in the queue every `blocked` entry whose blocking paths are clean now (saved,
 * committed, reverted or removed by the user). Entries still dirty stay blocked, so a queue
 * pass never re-runs their checks only to block them again. Returns how many were requeued.
 *
 * The status is read under the checkout's landing lock, like the landing's own dirty check:
 * another process's landing in flight is never mistaken for the user's edit.
 */
export async function requeueCleanBlocked(ctx: QueueContext, signal?: AbortSignal): Promise<number> {
  const blocked = ctx.db.all<EntryRow>("SELECT * FROM queue_entries WHERE target_ref = ? AND state = 'blocked' ORDER BY seq", [ctx.ref]);
  if (blocked.length === 0) return 0;
  const pathsOf = (e: EntryRow) => JSON.parse(e.blocked_paths_json || '[]') as string[];
  const wt = await worktreeWithRef(ctx.repo, ctx.ref, ctx.gitDirs);
  const all = [...new Set(blocked.flatMap(pathsOf))];
  const dirty = wt && all.length > 0
    ? new Set((await withLandingLock(wt.gitDir, () => dirtyPaths(wt, all, ctx.deps.isPathDirtyInEditor), { log: ctx.deps.log, signal })).map((d) => d.path))
    : new Set<string>();
  let requeued = 0;
  for (const e of blocked) {
    // Rows blocked before their paths were recorded (or with none) are simply retried.
    if (pathsOf(e).some((p) => dirty.has(p))) continue;
    try {
      ctx.move(e, 'queued', {
        actor: 'queue', reason: `${pathsOf(e).join(', ') || 'the blocking files'} clean again; retrying`, set: { blocked_paths_json: '[]' },
      });
      requeued++;
    } catch (err) {
      if (!isEngineError(err, 'queue/lease-lost')) throw err; // someone else requeued it first
    }
  }
  return requeued;
}
