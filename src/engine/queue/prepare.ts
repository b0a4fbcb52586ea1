import { excludeFiles } from '../changes/patch';
import { checkPatchPolicy, type PolicyReport } from '../changes/policy';
import { repairPatch } from '../changes/repair';
import { checkTreeEntries, entriesFromDiffTree, parseDiffTreeRaw } from '../changes/treePolicy';
import type { EngineConfig } from '../config';
import { EngineError, isEngineError } from '../errors';
import { git } from '../git/exec';
import { applyPatchToTree, type IndexTemplates } from '../git/plumbing';
import type { Db } from '../store/types';
import type { ChangeRow, EntryRow } from './types';

/**
 * The lock-free part of a landing, safe to run for many entries in parallel: turn the
 * agent's patch into the text that lands, and build the proposal tree on the base the agent
 * saw. The proposal COMMIT (parent = that base, so it is the merge base) is written by the
 * lander for a whole batch in one process.
 */

/** What a change lands: the patch after repair and file exclusion, or nothing at all. */
export type LandablePatch = { kind: 'patch'; patch: string; repairs: string[] } | { kind: 'empty'; repairs: string[] };

/**
 * Repairs the agent's patch FIRST (a raw model patch may have fences or miscounted hunks,
 * which `excludeFiles`' parser rejects), then drops the excluded files. A patch that is
 * blank, or that has nothing left once excluded files are dropped, is `empty`: the agent
 * changed nothing, which settles as merged without a commit. Throws `patch/unrepairable`
 * (or `patch/empty` for text with no diff in it) for a patch that cannot be read.
 */
export function landablePatch(change: Pick<ChangeRow, 'patch' | 'excluded_files_json'>): LandablePatch {
  if (change.patch.trim() === '') return { kind: 'empty', repairs: [] };
  const { patch, repairs } = repairPatch(change.patch);
  const excluded = JSON.parse(change.excluded_files_json || '[]') as string[];
  const text = excluded.length > 0 ? excludeFiles(patch, excluded) : patch;
  if (text.trim() === '') return { kind: 'empty', repairs };
  return { kind: 'patch', patch: text, repairs };
}

/** The patch policy, run on exactly the text that will be applied (undefined: nothing to check). */
export function landablePolicy(p: LandablePatch, config: EngineConfig): PolicyReport | undefined {
  if (p.kind === 'empty') return undefined;
  return checkPatchPolicy(p.patch, { protectedPaths: config.protectedPaths, maxPatchBytes: config.maxPatchBytes });
}

export type Proposal =
  | { kind: 'tree'; base: string; tree: string; repairs: string[] }
  | { kind: 'empty' };

/**
 * The proposal of an entry: the repaired patch applied to the commit the agent saw (`base`).
 * For a revert, base = the landed commit and tree = its parent's tree, so the three-way merge
 * applies the inverse. Throws `patch/does-not-apply` (and what landablePatch throws).
 */
export async function buildProposal(db: Db, repo: string, entry: EntryRow, change: ChangeRow, templates?: IndexTemplates): Promise<Proposal> {
  if (entry.kind === 'revert') {
    const landed = landedCommitOf(db, entry.change_id);
    const parentTree = (await git(['rev-parse', `${landed}^^{tree}`], { cwd: repo })).stdout.trim();
    return { kind: 'tree', base: landed, tree: parentTree, repairs: [] };
  }
  const p = landablePatch(change);
  if (p.kind === 'empty') return { kind: 'empty' };
  // Stored bases are full commit ids (the scheduler resolves them); resolve anything else. A
  // full id that is not a commit fails in the apply below (read-tree) or in the lander.
  let base = change.base_commit;
  if (!/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(base)) {
    base = (await git(['rev-parse', '--verify', '--quiet', `${change.base_commit}^{commit}`], { cwd: repo, check: false })).stdout.trim();
    if (!base) throw new EngineError('git/unknown-rev', `"${change.base_commit}" is not a commit`);
  }
  const tree = await applyPatchToTree(repo, base, p.patch, { templates });
  return { kind: 'tree', base, tree, repairs: p.repairs };
}

/** Tree-policy 'block' violations of a landing's changed entries, as one reason; undefined when clean. */
export function treePolicyFailure(raw: string, config: EngineConfig): string | undefined {
  // 'needs-approval' violations were settled when the change was enqueued; only 'block' stops it here.
  const { entries, baseModes } = entriesFromDiffTree(parseDiffTreeRaw(raw));
  const violations = checkTreeEntries(entries, { protectedPaths: config.protectedPaths, baseModes }).filter((v) => v.severity === 'block');
  if (violations.length === 0) return undefined;
  return `tree policy: ${violations.map((v) => `${v.rule} ${v.path}: ${v.message}`).join('; ')}`;
}

/** The commit a merged land entry of `changeId` created. Throws `queue/not-merged`. */
export function landedCommitOf(db: Db, changeId: string): string {
  const row = db.get<{ landed_commit: string | null }>(
    "SELECT landed_commit FROM queue_entries WHERE change_id = ? AND kind = 'land' AND landed_commit IS NOT NULL ORDER BY seq DESC LIMIT 1",
    [changeId],
  );
  if (!row?.landed_commit) throw new EngineError('queue/not-merged', `change ${changeId} has no landed commit to revert`);
  return row.landed_commit;
}

const TRAILER_LINE = /^\s*Hyperion-[A-Za-z-]+\s*:/i;

/** Title + body + trailers. Trailer-like lines in agent text are dropped so trailers stay unique. */
export function commitMessage(db: Db, entry: EntryRow, change: ChangeRow): string {
  const task = db.get<{ title: string }>('SELECT title FROM tasks WHERE run_id = ? AND id = ?', [entry.run_id, entry.task_id]);
  const body = change.summary.split('\n').filter((l) => !TRAILER_LINE.test(l)).join('\n').trim();
  const title = (task?.title ?? (body.split('\n')[0] || `Hyperion change ${change.id}`)).replace(/\s+/g, ' ').trim();
  if (entry.kind === 'revert') {
    const landed = landedCommitOf(db, entry.change_id);
    return [
      `Revert "${title}"`, '', `This reverts commit ${landed}.`, '',
      `Hyperion-Task: ${entry.task_id}`, `Hyperion-Run: ${entry.run_id}`, `Hyperion-Reverts: ${change.id}`,
    ].join('\n');
  }
  const lines = [title, ''];
  if (body && body !== title) lines.push(body, '');
  lines.push(`Hyperion-Task: ${entry.task_id}`, `Hyperion-Run: ${entry.run_id}`);
  if (change.model) lines.push(`Hyperion-Model: ${change.model}`);
  lines.push(`Hyperion-Change: ${change.id}`);
  return lines.join('\n');
}

/** A one-line reason for a proposal that cannot be built. */
export function proposalFailure(e: unknown, change: ChangeRow): string | undefined {
  if (isEngineError(e, 'patch/')) return `patch does not apply to ${short(change.base_commit)}: ${e.message}`;
  // A base commit that is missing or not a commit cannot be fixed by retrying.
  if (isEngineError(e, 'git/')) return `cannot build the proposal on ${short(change.base_commit)}: ${e.message}`;
  return undefined;
}

function short(sha: string): string {
  return sha.slice(0, 10);
}
