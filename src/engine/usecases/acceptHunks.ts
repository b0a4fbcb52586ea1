import type { HunkView } from '../api';
import { hunkUnits, splitByHunks, type HunkRef } from '../changes/hunks';
import { acceptPart, requireChange } from '../changes/lifecycle';
import { repoPolicyInputs } from '../changes/repoPolicy';
import { EngineError } from '../errors';
import { applyAndDiff } from '../git/batch';
import { commitWithEvents } from '../runs/runs';
import { checkPolicy } from '../schedule/policy';
import { approveChange, dependencyChangeIds } from './approveChange';
import type { EngineContext } from './context';

/** The reviewable units of a change's current patch, for the inline review. */
export function listHunks(ctx: Pick<EngineContext, 'db'>, changeId: string): HunkView[] {
  const c = requireChange(ctx.db, changeId);
  return hunkUnits(c.patch).map((u) => ({
    path: u.path, index: u.index, wholeFile: u.wholeFile,
    oldStart: u.hunk?.oldStart ?? 0, oldLines: u.hunk?.oldLines ?? 0, newStart: u.hunk?.newStart ?? 0, newLines: u.hunk?.newLines ?? 0,
    lines: u.hunk?.lines ?? [],
  }));
}

/**
 * Inline review's Accept on some hunks: a new version made of exactly those hunks, approved
 * (bound to its hash) and queued in one transaction, the rejected hunks kept with the version
 * they came from. The sub-patch is what `git apply` makes of the kept hunks over the change's
 * base (so its text is git's own), and it goes through the policy again, as the queue's
 * enqueue does once more. Accepting every hunk is a plain approval of `version`.
 *
 * The user's choice of hunks is an explicit approval (it names what lands), like Approve.
 * Throws `usage/unknown-hunk`, `usage/nothing-left` (no hunk chosen), `usage/bad-state`
 * (not waiting for review, or no longer `version`), `patch/does-not-apply`, `policy/blocked`.
 */
export async function acceptHunks(ctx: EngineContext, changeId: string, o: { hunks: HunkRef[]; version: number }): Promise<{ version: number }> {
  const { db, clock, repo } = ctx;
  const c = requireChange(db, changeId);
  if (c.status !== 'proposed') throw new EngineError('usage/bad-state', `change ${changeId} is ${c.status}, not waiting for review`);
  if (c.version !== o.version) throw new EngineError('usage/bad-state', `change ${changeId} is now v${c.version}; you reviewed v${o.version}: review the new diff`);
  if (o.hunks.length === 0) throw new EngineError('usage/nothing-left', 'no hunk was accepted; reject the change instead');
  const units = hunkUnits(c.patch);
  const { kept, rest } = splitByHunks(c.patch, o.hunks);
  if (rest.trim() === '') {
    approveChange(ctx, changeId, { explicit: true, actor: 'user', expectedVersion: o.version, reason: 'approved (every hunk accepted)' });
    return { version: c.version };
  }
  const applied = await applyAndDiff(repo, c.base_commit, kept);
  if (!applied.ok) throw new EngineError('patch/does-not-apply', `the accepted hunks do not apply to the change's base: ${applied.error}`);
  const inputs = await repoPolicyInputs(repo, { baseTree: c.base_commit, tree: applied.tree, patch: applied.patch });
  const policy = checkPolicy(applied.patch, { protectedPaths: ctx.config.protectedPaths, maxPatchBytes: ctx.config.maxPatchBytes, ...inputs });
  if (policy.blocked) {
    throw new EngineError('policy/blocked', `the accepted hunks break the patch policy: ${policy.violations.filter((v) => v.severity === 'block').map((v) => v.message).join(' ')}`);
  }
  const chosen = new Set(o.hunks.map((h) => `${h.index}\0${h.path}`));
  const rejected = units.filter((u) => !chosen.has(`${u.index}\0${u.path}`)).map((u) => `${u.path} #${u.index + 1}`);
  const reason = `accepted ${units.length - rejected.length} of ${units.length} hunks; rejected ${rejected.join(', ')}`;
  const at = clock.now();
  const version = commitWithEvents(db, ctx.onEvent, (events) => {
    const v = acceptPart(db, events, {
      changeId, expectedVersion: o.version, rejectedPatch: rest, at, reason,
      next: { patch: applied.patch, files: policy.files, policyJson: JSON.stringify(policy.violations), needsExplicitApproval: policy.needsExplicitApproval },
    });
    // Throws on a policy refusal: the transaction rolls back and the change stays as it was.
    ctx.queue.enqueue(changeId, { actor: 'user', explicitApproval: true, dependsOnChangeIds: dependencyChangeIds(db, c.run_id, c.task_id), events });
    return v;
  });
  if (ctx.autoLand) ctx.kickQueue();
  return { version };
}
