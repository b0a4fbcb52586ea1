import { excludeFiles, parsePatch, patchFiles } from '../changes/patch';
import { checkPatchPolicy, type PatchPolicyOptions, type PolicyReport } from '../changes/policy';
import { repairPatch } from '../changes/repair';
import { parsesAsGiven } from '../changes/resolve';
import { checkTreeEntries, entriesFromDiffTree, parseDiffTreeRaw } from '../changes/treePolicy';
import type { EngineConfig } from '../config';
import { EngineError, isEngineError } from '../errors';
import { git } from '../git/exec';
import { patchChanges, type IndexTemplates, type TreeChange } from '../git/plumbing';
import { addTaken, overlaps } from './paths';
import type { Db } from '../store/types';
import type { ChangeRow, EntryRow } from './types';

/**
 * The lock-free part of a landing, safe to run for many entries in parallel: turn the
 * agent's patch into the text that lands, and build the proposal tree on the base the agent
 * saw. The proposal COMMIT (parent = that base, so it is the merge base) is written by the
 * lander for a whole batch in one process.
 */

/**
 * What a change lands: the patch as stored (files excluded at approval dropped), or nothing.
 * `original` is set only for a stored patch our parser cannot read as it stands: `patch` is
 * then its repair, which the policy reads, and `buildProposals` lands it only when the
 * original does not apply or git makes the same changes of both.
 */
export type LandablePatch =
  | { kind: 'patch'; patch: string; repairs: string[]; original?: string }
  | { kind: 'empty'; repairs: string[] };

/**
 * The text of a change to check and land. A patch that our strict parser reads (every patch
 * the scheduler stores: it keeps git's own diff of what applied) is used as is, never
 * repaired: repair rewrites valid patches (a context line " ```" looks like a Markdown fence).
 * A patch over `maxPatchBytes` is returned unread, so the policy's size limit meets it before
 * any parsing. A patch that is blank, or has nothing left once excluded files are dropped, is
 * `empty`: the agent changed nothing, which settles as merged without a commit. Throws
 * `patch/unrepairable` (or `patch/empty` for text with no diff in it) for an unreadable patch.
 */
export function landablePatch(change: Pick<ChangeRow, 'patch' | 'excluded_files_json'>, limits: { maxPatchBytes?: number } = {}): LandablePatch {
  if (change.patch.trim() === '') return { kind: 'empty', repairs: [] };
  if (limits.maxPatchBytes !== undefined && Buffer.byteLength(change.patch, 'utf8') > limits.maxPatchBytes) {
    return { kind: 'patch', patch: change.patch, repairs: [] };
  }
  const excluded = JSON.parse(change.excluded_files_json || '[]') as string[];
  const cut = (text: string): string => (excluded.length > 0 ? excludeFiles(text, excluded) : text);
  if (parsesAsGiven(change.patch)) {
    const text = cut(change.patch);
    return text.trim() === '' ? { kind: 'empty', repairs: [] } : { kind: 'patch', patch: text, repairs: [] };
  }
  const { patch, repairs } = repairPatch(change.patch);
  const text = cut(patch);
  if (text.trim() === '') return { kind: 'empty', repairs };
  return { kind: 'patch', patch: text, repairs, original: change.patch };
}

/**
 * The patch policy, run on exactly the text that will be applied (undefined: nothing to check).
 * `extra` carries what only the repository knows (the `core.hooksPath` folder).
 */
export function landablePolicy(p: LandablePatch, config: EngineConfig, extra: Pick<PatchPolicyOptions, 'highRiskPaths'> = {}): PolicyReport | undefined {
  if (p.kind === 'empty') return undefined;
  return checkPatchPolicy(p.patch, { protectedPaths: config.protectedPaths, maxPatchBytes: config.maxPatchBytes, ...extra });
}

export type Proposal =
  | { kind: 'ready'; base: string; tree?: string; changes?: TreeChange[]; repairs: string[] }
  | { kind: 'empty' }
  | { kind: 'failed'; reason: string };

const FULL_ID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** Stored bases are full commit ids (the scheduler resolves them); resolve anything else. */
async function resolveBase(repo: string, rev: string): Promise<string> {
  if (FULL_ID.test(rev)) return rev; // a full id that is not a commit fails in the apply or the lander
  const base = (await git(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], { cwd: repo, check: false })).stdout.trim();
  if (!base) throw new EngineError('git/unknown-rev', `"${rev}" is not a commit`);
  return base;
}

interface Pending {
  i: number;
  change: ChangeRow;
  base: string;
  patch: string;
  paths: string[];
  repairs: string[];
  /** The stored text when `patch` is its repair (see LandablePatch). */
  original?: string;
}

/**
 * The proposals of many entries, with as few git processes as possible. A proposal is the
 * repaired patch applied to the commit the agent saw (`base`), given as its changes over
 * base's tree; for a revert, base = the landed commit and tree = its parent's tree, so the
 * three-way merge applies the inverse. Entries on the same base whose patches touch different
 * paths are applied together (one `apply --cached` + one `diff-index` for the group) and the
 * changes split by path; that is exact because `git apply` treats files independently. A group
 * that does not apply is retried entry by entry, so each failure gets its own reason.
 * Returns one result per item, in order; throws only unexpected errors.
 */
export async function buildProposals(
  db: Db,
  repo: string,
  items: ReadonlyArray<{ entry: EntryRow; change: ChangeRow }>,
  templates?: IndexTemplates,
): Promise<Proposal[]> {
  const out: Proposal[] = new Array(items.length);
  const pending: Pending[] = [];
  for (let i = 0; i < items.length; i++) {
    const { entry, change } = items[i]!;
    try {
      if (entry.kind === 'revert') {
        const landed = landedCommitOf(db, entry.change_id);
        const parentTree = (await git(['rev-parse', `${landed}^^{tree}`], { cwd: repo })).stdout.trim();
        out[i] = { kind: 'ready', base: landed, tree: parentTree, repairs: [] };
        continue;
      }
      const p = landablePatch(change);
      if (p.kind === 'empty') {
        out[i] = { kind: 'empty' };
        continue;
      }
      const base = await resolveBase(repo, change.base_commit);
      pending.push({ i, change, base, patch: p.patch, paths: patchFiles(parsePatch(p.patch)), repairs: p.repairs, ...(p.original !== undefined ? { original: p.original } : {}) });
    } catch (e) {
      const why = proposalFailure(e, change);
      if (why === undefined) throw e;
      out[i] = { kind: 'failed', reason: why };
    }
  }
  // Greedy groups: same base, no path (or directory of one) shared.
  const groups: Array<{ base: string; members: Pending[]; taken: Set<string>; dirs: Set<string> }> = [];
  for (const p of pending) {
    if (p.original !== undefined) {
      out[p.i] = await repairedProposal(repo, p, templates);
      continue;
    }
    let g = groups.find((x) => x.base === p.base && !p.paths.some((q) => overlaps(q, x.taken, x.dirs)));
    if (!g) groups.push((g = { base: p.base, members: [], taken: new Set(), dirs: new Set() }));
    g.members.push(p);
    for (const q of p.paths) addTaken(q, g.taken, g.dirs);
  }
  for (const g of groups) {
    if (g.members.length > 1) {
      try {
        const all = await patchChanges(repo, g.base, g.members.map((m) => m.patch).join(''), { templates });
        const owner = new Map<string, Pending>();
        for (const m of g.members) for (const q of m.paths) owner.set(q, m);
        if (all.every((c) => owner.has(c.path))) {
          const split = new Map<Pending, TreeChange[]>(g.members.map((m) => [m, []]));
          for (const c of all) split.get(owner.get(c.path)!)!.push(c);
          for (const m of g.members) out[m.i] = { kind: 'ready', base: m.base, changes: split.get(m)!, repairs: m.repairs };
          continue;
        }
      } catch (e) {
        if (!isEngineError(e, 'patch/') && !isEngineError(e, 'git/')) throw e;
      }
    }
    for (const m of g.members) {
      try {
        out[m.i] = { kind: 'ready', base: m.base, changes: await patchChanges(repo, m.base, m.patch, { templates }), repairs: m.repairs };
      } catch (e) {
        const why = proposalFailure(e, m.change);
        if (why === undefined) throw e;
        out[m.i] = { kind: 'failed', reason: why };
      }
    }
  }
  return out;
}

/**
 * The proposal of a change whose stored text our parser cannot read, so `m.patch` is its
 * repair. Repair must never change what lands: when git applies the original as given, the
 * repair is used only if git makes exactly the same changes of it (the policy read the
 * repair); when the original does not apply, the repair lands if it applies.
 */
async function repairedProposal(repo: string, m: Pending, templates?: IndexTemplates): Promise<Proposal> {
  const attempt = async (text: string): Promise<{ ok: true; changes: TreeChange[] } | { ok: false; error: unknown }> => {
    try {
      return { ok: true, changes: await patchChanges(repo, m.base, text, { templates }) };
    } catch (e) {
      if (proposalFailure(e, m.change) === undefined) throw e;
      return { ok: false, error: e };
    }
  };
  const asGiven = await attempt(m.original!);
  const repaired = await attempt(m.patch);
  if (!asGiven.ok) {
    // git's reason for the text as stored matters more than the repair's.
    return repaired.ok ? { kind: 'ready', base: m.base, changes: repaired.changes, repairs: m.repairs } : { kind: 'failed', reason: proposalFailure(asGiven.error, m.change)! };
  }
  const excluded = new Set(JSON.parse(m.change.excluded_files_json || '[]') as string[]);
  const key = (cs: TreeChange[]): string => JSON.stringify(cs.map((c) => [c.path, c.mode, c.mode === null ? null : c.sha]).sort());
  if (!repaired.ok || key(asGiven.changes.filter((c) => !excluded.has(c.path))) !== key(repaired.changes)) {
    return {
      kind: 'failed',
      reason: `patch cannot be checked: git applies it to ${short(m.change.base_commit)} as given, but reads it differently from the repaired text (${m.repairs.join(', ')}) that the policy checked`,
    };
  }
  return { kind: 'ready', base: m.base, changes: repaired.changes, repairs: m.repairs };
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
