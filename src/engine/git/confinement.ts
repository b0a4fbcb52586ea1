import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { git } from './exec';

/**
 * What an agent must not touch outside its worktree, reduced to hashes: the user's checkout
 * (tracked changes, untracked files, their contents), the index, `.git/config` and the hooks.
 * Taken before and after an agent runs (`schedule/runHarnessTask.ts`); a difference means the
 * agent wrote outside its worktree. Everything is read-only: `status` runs with
 * `--no-optional-locks`, so taking a fingerprint never rewrites the user's index.
 *
 * Both the checkout and the index are taken relative to HEAD, so the merge queue landing a
 * change meanwhile (HEAD, index and files move together, and never on a path the user has
 * dirty) leaves the fingerprint as it was: only edits on top of HEAD count.
 */
export interface RepoFingerprint {
  checkout: string;
  index: string;
  config: string;
  hooks: string;
}

const PARTS: Array<[keyof RepoFingerprint, string]> = [
  ['checkout', "the user's checkout"],
  ['index', "the user's index"],
  ['config', '.git/config'],
  ['hooks', 'the git hooks'],
];

const sha = (parts: Array<string | Buffer>) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
};

/** Paths of `status --porcelain=v2 -z --no-renames` records (changed, unmerged, untracked). */
function statusPaths(out: string): string[] {
  const paths: string[] = [];
  for (const rec of out.split('\0')) {
    if (rec.startsWith('1 ')) paths.push(rec.split(' ').slice(8).join(' '));
    else if (rec.startsWith('u ')) paths.push(rec.split(' ').slice(10).join(' '));
    else if (rec.startsWith('? ')) paths.push(rec.slice(2));
  }
  return paths;
}

async function hashFile(file: string): Promise<string> {
  try {
    const s = await stat(file);
    if (!s.isFile()) return `${s.mode}:not-a-file`;
    return `${s.mode}:${sha([await readFile(file)])}`;
  } catch {
    return 'missing';
  }
}

/** Takes the fingerprint of the repository whose main checkout is `repo`. Throws `git/…`. */
export async function fingerprintRepo(repo: string, opts: { signal?: AbortSignal } = {}): Promise<RepoFingerprint> {
  const signal = opts.signal;
  const top = (await git(['rev-parse', '--show-toplevel'], { cwd: repo, signal })).stdout.trim();
  const [status, index, configPath, hooksPath] = await Promise.all([
    git(['--no-optional-locks', 'status', '--porcelain=v2', '-z', '--untracked-files=all', '--no-renames', '--ignore-submodules=all'], { cwd: top, signal }),
    git(['--no-optional-locks', 'diff-index', '--cached', '--no-renames', '-z', 'HEAD'], { cwd: top, signal }),
    git(['rev-parse', '--path-format=absolute', '--git-common-dir'], { cwd: top, signal }),
    git(['rev-parse', '--path-format=absolute', '--git-path', 'hooks'], { cwd: top, signal }),
  ]);
  // status names what differs from the index, not how: a second edit of an already modified
  // file would not show, so the contents of every listed path are hashed too.
  const paths = statusPaths(status.stdout).sort();
  const contents = await Promise.all(paths.map((p) => hashFile(path.join(top, p))));
  const hooksDir = hooksPath.stdout.trim();
  const hookNames = (await readdir(hooksDir).catch(() => [] as string[])).sort();
  const hooks = await Promise.all(hookNames.map(async (n) => `${n}=${await hashFile(path.join(hooksDir, n))}`));
  return {
    checkout: sha([status.stdout, ...paths.map((p, i) => `${p}=${contents[i]}`)]),
    index: sha([index.stdout]),
    config: await hashFile(path.join(configPath.stdout.trim(), 'config')),
    hooks: sha([hooksDir, ...hooks]),
  };
}

/** What moved between two fingerprints, in words ("the user's checkout, .git/config"); empty when nothing did. */
export function fingerprintChanges(before: RepoFingerprint, after: RepoFingerprint): string[] {
  return PARTS.filter(([k]) => before[k] !== after[k]).map(([, label]) => label);
}
