import { excludeFiles } from '../changes/patch';
import { repairPatch } from '../changes/repair';
import { checkTreeEntries, entriesFromDiffTree, parseDiffTreeRaw } from '../changes/treePolicy';
import type { EngineConfig } from '../config';
import { EngineError, isEngineError } from '../errors';
import { git } from '../git/exec';
import { changedEntries, mergeTrees } from '../git/mergeTree';
import { applyPatchToTree, commitTree } from '../git/plumbing';
import type { Db } from '../store/types';
import type { ChangeRow, EntryRow } from './types';

/**
 * The lock-free part of a landing, safe to run for many entries in parallel: build the
 * proposal commit on the base the agent saw, merge it three-way onto a tip, check the
 * resulting tree against the tree policy, and create the candidate commit.
 */

export interface Proposal {
  commit: string;
  repairs: string[];
}

export type MergeOutcome =
  | { kind: 'ready'; candidate: string; tree: string; changedPaths: string[] }
  | { kind: 'conflicted'; paths: string[] }
  | { kind: 'failed'; reason: string };

function short(sha: string): string {
  return sha.slice(0, 10);
}

/**
 * Builds the proposal: a commit whose parent is the commit the agent saw (so that commit
 * becomes the merge base) and whose tree is the repaired patch applied there. For a revert,
 * a commit whose parent is the landed commit and whose tree is the landed commit's parent
 * tree, so the three-way merge applies the inverse. Throws `patch/does-not-apply`.
 */
export async function buildProposal(db: Db, repo: string, entry: EntryRow, change: ChangeRow, at: number): Promise<Proposal> {
  if (entry.kind === 'revert') {
    const landed = landedCommitOf(db, entry.change_id);
    const parentTree = (await git(['rev-parse', `${landed}^^{tree}`], { cwd: repo })).stdout.trim();
    const commit = await commitTree(repo, parentTree, [landed], `revert proposal for ${entry.change_id}`, { date: at });
    return { commit, repairs: [] };
  }
  const excluded = JSON.parse(change.excluded_files_json || '[]') as string[];
  const text = excluded.length > 0 ? excludeFiles(change.patch, excluded) : change.patch;
  const { patch, repairs } = repairPatch(text);
  const tree = await applyPatchToTree(repo, change.base_commit, patch);
  const commit = await commitTree(repo, tree, [change.base_commit], `proposal for ${entry.change_id}`, { date: at });
  return { commit, repairs };
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

/** Merges `proposal` onto `tip`, checks the tree policy, and creates the candidate commit. */
export async function mergeOnto(
  db: Db,
  repo: string,
  config: EngineConfig,
  entry: EntryRow,
  change: ChangeRow,
  tip: string,
  proposal: string,
  at: number,
): Promise<MergeOutcome> {
  const merged = await mergeTrees(repo, tip, proposal);
  if (!merged.clean) return { kind: 'conflicted', paths: merged.conflictPaths };
  const { raw, paths } = await changedEntries(repo, `${tip}^{tree}`, merged.tree);
  if (paths.length === 0) {
    return { kind: 'failed', reason: `nothing to land: the target at ${short(tip)} already has this change` };
  }
  // 'needs-approval' violations were settled when the change was enqueued; only 'block' stops it here.
  const { entries, baseModes } = entriesFromDiffTree(parseDiffTreeRaw(raw));
  const violations = checkTreeEntries(entries, { protectedPaths: config.protectedPaths, baseModes }).filter((v) => v.severity === 'block');
  if (violations.length > 0) {
    const list = violations.map((v) => `${v.rule} ${v.path}: ${v.message}`).join('; ');
    return { kind: 'failed', reason: `tree policy: ${list}` };
  }
  const candidate = await commitTree(repo, merged.tree, [tip], commitMessage(db, entry, change), { date: at });
  return { kind: 'ready', candidate, tree: merged.tree, changedPaths: paths };
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
