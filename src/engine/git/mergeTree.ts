import { EngineError } from '../errors';
import { git } from './exec';

/**
 * Three-way merges with `git merge-tree --write-tree` (git >= 2.38): a real merge
 * (ort) computed entirely in the object store, never touching a worktree or index.
 *
 * git 2.39 has no `--merge-base`, so callers choose the merge base through history:
 * the merge base of `ours` and `theirs` is computed by git. The queue makes every
 * proposal commit a direct child of the commit B the agent saw, and merges it with a
 * commit holding the target's tree whose parent is also B, so B is the merge base
 * whether or not it is in the target's history (cherry-pick semantics).
 */
export interface MergeResult {
  clean: boolean;
  /** The merged tree (with conflict markers when not clean). */
  tree: string;
  /** Paths with conflicts, each once. Empty when clean. */
  conflictPaths: string[];
}

export async function mergeTrees(repo: string, ours: string, theirs: string, opts: { signal?: AbortSignal } = {}): Promise<MergeResult> {
  const r = await git(['merge-tree', '--write-tree', '-z', '--name-only', '--no-messages', ours, theirs], {
    cwd: repo,
    signal: opts.signal,
    check: false,
  });
  if (r.code !== 0 && r.code !== 1) {
    throw new EngineError('git/merge-failed', `git merge-tree failed: ${r.stderr.trim().split('\n')[0] || `exit ${r.code}`}`);
  }
  const parts = r.stdout.split('\0');
  const tree = parts[0] ?? '';
  const conflictPaths = parts.slice(1).filter((p) => p.length > 0);
  return { clean: r.code === 0, tree, conflictPaths };
}

/**
 * Many merges in one git process (`merge-tree --stdin`), in input order. Much cheaper
 * than one process per merge when pre-checking a whole queue against the tip.
 */
export async function mergeTreesBatch(
  repo: string,
  pairs: Array<{ ours: string; theirs: string }>,
  opts: { signal?: AbortSignal } = {},
): Promise<MergeResult[]> {
  if (pairs.length === 0) return [];
  for (const p of pairs) {
    if (/\s/.test(p.ours) || /\s/.test(p.theirs)) throw new EngineError('git/bad-rev', 'merge inputs must be object names without spaces');
  }
  const input = pairs.map((p) => `${p.ours} ${p.theirs}\n`).join('');
  const r = await git(['merge-tree', '--write-tree', '--stdin', '-z', '--name-only', '--no-messages'], {
    cwd: repo,
    input,
    signal: opts.signal,
  });
  const parts = r.stdout.split('\0');
  const out: MergeResult[] = [];
  let i = 0;
  while (out.length < pairs.length) {
    const status = parts[i++];
    const tree = parts[i++];
    if (status === undefined || tree === undefined) throw new EngineError('git/merge-failed', 'truncated merge-tree --stdin output');
    const conflictPaths: string[] = [];
    while (i < parts.length && parts[i] !== '') conflictPaths.push(parts[i++]);
    i++; // the empty record that ends the conflict list
    out.push({ clean: status === '1', tree, conflictPaths });
  }
  return out;
}

/** Entries that differ between two trees (`diff-tree -r -z --raw`), as new-side mode/type/path. */
export async function changedEntries(
  repo: string,
  fromTree: string,
  toTree: string,
  opts: { signal?: AbortSignal } = {},
): Promise<{ raw: string; paths: string[] }> {
  const r = await git(['diff-tree', '-r', '-z', '--raw', '--no-renames', fromTree, toTree], { cwd: repo, signal: opts.signal });
  const parts = r.stdout.split('\0');
  const paths: string[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    if (parts[i].startsWith(':')) paths.push(parts[i + 1]);
  }
  return { raw: r.stdout, paths };
}

/**
 * `changedEntries` for many tree pairs in one process (`diff-tree --stdin`, two trees a
 * line), in input order. Each raw string is in the `-r -z --raw --no-renames` format.
 */
export async function changedEntriesBatch(
  repo: string,
  pairs: Array<{ from: string; to: string }>,
  opts: { signal?: AbortSignal } = {},
): Promise<Array<{ raw: string; paths: string[] }>> {
  if (pairs.length === 0) return [];
  for (const p of pairs) {
    if (!/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(p.from) || !/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(p.to)) {
      throw new EngineError('git/bad-rev', 'diff inputs must be full tree ids');
    }
  }
  const r = await git(['diff-tree', '--stdin', '-r', '-z', '--raw', '--no-renames'], {
    cwd: repo, input: pairs.map((p) => `${p.from} ${p.to}\n`).join(''), signal: opts.signal,
  });
  // Each pair is announced by a "<from> <to>\n" line (even when nothing differs), then its
  // ":meta\0path\0" records.
  const out: Array<{ raw: string; paths: string[] }> = [];
  const s = r.stdout;
  let i = 0;
  let cur: { raw: string; paths: string[] } | undefined;
  while (i < s.length) {
    if (s[i] === ':') {
      const metaEnd = s.indexOf('\0', i);
      const pathEnd = metaEnd < 0 ? -1 : s.indexOf('\0', metaEnd + 1);
      if (!cur || pathEnd < 0) throw new EngineError('git/bad-output', 'unexpected diff-tree --stdin output');
      const p = s.slice(metaEnd + 1, pathEnd);
      cur.raw += `${s.slice(i, metaEnd)}\0${p}\0`;
      cur.paths.push(p);
      i = pathEnd + 1;
    } else {
      const nl = s.indexOf('\n', i);
      if (nl < 0) throw new EngineError('git/bad-output', 'unexpected diff-tree --stdin output');
      cur = { raw: '', paths: [] };
      out.push(cur);
      i = nl + 1;
    }
  }
  if (out.length !== pairs.length) throw new EngineError('git/bad-output', `diff-tree --stdin answered ${out.length} of ${pairs.length} pairs`);
  return out;
}

/** Whether `ancestor` is reachable from `descendant` (a commit is its own ancestor). */
export async function isAncestor(repo: string, ancestor: string, descendant: string): Promise<boolean> {
  const r = await git(['merge-base', '--is-ancestor', ancestor, descendant], { cwd: repo, check: false });
  if (r.code === 0) return true;
  if (r.code === 1) return false;
  throw new EngineError('git/failed', `git merge-base failed: ${r.stderr.trim().split('\n')[0]}`);
}
