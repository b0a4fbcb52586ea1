import { git } from '../git/exec';
import { changedEntries } from '../git/mergeTree';
import type { QueueContext } from './context';
import { updateHeld } from './entries';
import { mergeOnto } from './prepare';
import type { ChangeRow, EntryRow } from './types';
import { dirtyPaths, removeMarker, updateWorktree, worktreeWithRef, writeMarker } from './worktree';

export type LandOutcome =
  | { kind: 'merged'; commit: string }
  | { kind: 'blocked'; paths: string[] }
  | { kind: 'conflicted'; tip: string; paths: string[] }
  | { kind: 'failed'; reason: string };

/** How often a landing is re-merged because another process moved the tip under us. */
const MAX_CAS_ROUNDS = 5;

/**
 * The serialized part of landing. Call with the landing mutex held and the entry in
 * `checking` under `owner`, with proposal_commit/candidate_commit/old_tip set.
 *
 * Order of the irreversible steps, each preceded by its recorded intent:
 *  1. entry → `landing` with candidate_commit and old_tip stored;
 *  2. a worktree marker (pid, old, new) beside the index when the target is checked out;
 *  3. `update-ref <ref> <new> <old>` (compare-and-swap);
 *  4. `read-tree -m -u <old> <new>` on the real index (refuses to overwrite edits);
 *  5. entry → `merged`.
 * If step 4 fails, the ref is swapped back (so it never moves without the worktree) and the
 * entry waits as `blocked`. recover() finishes what a crash interrupted.
 */
export async function landEntry(ctx: QueueContext, entry: EntryRow, owner: string, change: ChangeRow): Promise<LandOutcome> {
  const { deps, repo, ref } = ctx;
  for (let round = 0; round < MAX_CAS_ROUNDS; round++) {
    const tip = await ctx.tip();
    let candidate = entry.candidate_commit!;
    let changed: string[];
    if (tip !== entry.old_tip) {
      // The tip moved since the candidate was built: redo the three-way merge on the new tip.
      const m = await mergeOnto(ctx.db, repo, deps.config, entry, change, tip, entry.proposal_commit!, deps.clock.now());
      if (m.kind === 'conflicted') return { kind: 'conflicted', tip, paths: m.paths };
      if (m.kind === 'failed') return m;
      candidate = m.candidate;
      changed = m.changedPaths;
      updateHeld(ctx.db, entry, owner, { candidate_commit: candidate, old_tip: tip }, deps.clock.now());
    } else {
      changed = (await changedEntries(repo, tip, candidate)).paths;
    }

    const wt = await worktreeWithRef(repo, ref);
    if (wt) {
      const dirty = await dirtyPaths(wt, changed, deps.isPathDirtyInEditor);
      if (dirty.length > 0) return { kind: 'blocked', paths: dirty };
    }

    ctx.move(entry, 'landing', {
      actor: 'queue', owner, reason: `landing ${candidate.slice(0, 10)} on ${tip.slice(0, 10)}`,
      set: { candidate_commit: candidate, old_tip: tip }, data: { candidate, oldTip: tip },
    });
    ctx.crash('before-update-ref');
    if (wt) await writeMarker(wt, { pid: process.pid, oldTip: tip, newTip: candidate, at: deps.clock.now() });
    const cas = await git(['update-ref', '-m', `hyperion: land ${entry.change_id}`, ref, candidate, tip], { cwd: repo, check: false });
    if (cas.code !== 0) {
      if (wt) await removeMarker(wt);
      ctx.move(entry, 'checking', { actor: 'queue', owner, reason: 'the target moved during landing; merging again' });
      continue;
    }
    ctx.crash('after-update-ref');
    if (wt) {
      ctx.crash('mid-worktree-update');
      try {
        await updateWorktree(wt, tip, candidate);
      } catch (e) {
        // Put the ref back so it never points past what the user's checkout shows.
        await git(['update-ref', '-m', `hyperion: undo ${entry.change_id}`, ref, tip, candidate], { cwd: repo, check: false });
        await removeMarker(wt);
        deps.log.warn('worktree update refused; landing undone', { entry: entry.id, error: String(e) });
        const wtNow = await dirtyPaths(wt, changed, deps.isPathDirtyInEditor);
        ctx.move(entry, 'checking', { actor: 'queue', owner, reason: 'the worktree could not be updated; landing undone' });
        return { kind: 'blocked', paths: wtNow.length > 0 ? wtNow : changed };
      }
      await removeMarker(wt);
    }
    ctx.crash('before-merged');
    return { kind: 'merged', commit: candidate };
  }
  return { kind: 'failed', reason: `the target ref kept moving; gave up after ${MAX_CAS_ROUNDS} attempts` };
}
