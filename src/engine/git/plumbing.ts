import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EngineError } from '../errors';
import { git } from './exec';

/**
 * Object-level git operations that never touch the user's worktree or real index.
 *
 * Every function that needs an index uses a private `GIT_INDEX_FILE` in the OS temp
 * directory, created and removed within the call, so these are safe to run in parallel
 * with each other and with whatever the user is doing in their checkout.
 */

export interface PlumbingOptions {
  signal?: AbortSignal;
}

export interface Identity {
  name: string;
  email: string;
}

const DEFAULT_IDENTITY: Identity = { name: 'Hyperion', email: 'hyperion@localhost' };

/** Runs fn with the path of a fresh private index file; the file is always removed. */
export async function withPrivateIndex<T>(fn: (env: Record<string, string>) => Promise<T>): Promise<T> {
  const file = path.join(os.tmpdir(), `hyperion-index-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    return await fn({ GIT_INDEX_FILE: file });
  } finally {
    await rm(file, { force: true });
    await rm(`${file}.lock`, { force: true });
  }
}

/** Squeezes git's multi-line complaint into one line, preferring its `error:` lines. */
export function oneLineReason(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const errors = lines.filter((l) => l.startsWith('error:') || l.startsWith('fatal:'));
  const picked = (errors.length > 0 ? errors : lines).map((l) => l.replace(/^(error|fatal):\s*/, ''));
  return picked.join('; ') || 'git apply failed';
}

function ensureTrailingNewline(patch: string): string {
  return patch.endsWith('\n') ? patch : `${patch}\n`;
}

async function applyCached(
  repo: string,
  baseTreeish: string,
  patch: string,
  env: Record<string, string>,
  check: boolean,
  signal?: AbortSignal,
): Promise<{ ok: true } | { ok: false; error: string }> {
  await git(['read-tree', baseTreeish], { cwd: repo, env, signal });
  const args = ['apply', '--cached', '--whitespace=nowarn'];
  if (check) args.push('--check');
  const r = await git(args, { cwd: repo, env, input: ensureTrailingNewline(patch), signal, check: false });
  if (r.code !== 0) return { ok: false, error: oneLineReason(r.stderr) };
  return { ok: true };
}

/**
 * Applies a unified diff to `baseTreeish` and returns the resulting tree sha.
 * Never touches the worktree or the real index.
 * Throws EngineError `patch/does-not-apply` with git's reason on one line.
 */
export async function applyPatchToTree(
  repo: string,
  baseTreeish: string,
  patch: string,
  opts: PlumbingOptions = {},
): Promise<string> {
  return withPrivateIndex(async (env) => {
    const r = await applyCached(repo, baseTreeish, patch, env, false, opts.signal);
    if (!r.ok) throw new EngineError('patch/does-not-apply', r.error);
    const t = await git(['write-tree'], { cwd: repo, env, signal: opts.signal });
    return t.stdout.trim();
  });
}

/** Like applyPatchToTree, but only reports whether the patch applies. Never throws for a bad patch. */
export async function checkPatchApplies(
  repo: string,
  baseTreeish: string,
  patch: string,
  opts: PlumbingOptions = {},
): Promise<{ ok: true } | { ok: false; error: string }> {
  return withPrivateIndex((env) => applyCached(repo, baseTreeish, patch, env, true, opts.signal));
}

/** Rejects paths that could escape the repository or are not plain relative paths. */
export function assertRepoRelativePath(p: string): void {
  const bad =
    p.length === 0 ||
    p.includes('\0') ||
    p.includes('\n') ||
    p.includes('\\') ||
    p.startsWith('/') ||
    /^[A-Za-z]:/.test(p) ||
    p.split('/').some((seg) => seg === '' || seg === '.' || seg === '..');
  if (bad) throw new EngineError('patch/outside-repo', `"${p}" is not a plain path inside the repository`);
}

/**
 * Returns the tree of `baseTreeish` with `files` written over it (`content: null` deletes).
 * Existing files keep their mode; new files are 100644. Blobs are written to the object store.
 * Throws `patch/outside-repo` for a path that is absolute or contains `..`.
 */
export async function treeFromFiles(
  repo: string,
  baseTreeish: string,
  files: Array<{ path: string; content: string | null }>,
  opts: PlumbingOptions = {},
): Promise<string> {
  for (const f of files) assertRepoRelativePath(f.path);
  return withPrivateIndex(async (env) => {
    await git(['read-tree', baseTreeish], { cwd: repo, env, signal: opts.signal });
    const modes = new Map<string, string>();
    const present = files.filter((f) => f.content !== null).map((f) => f.path);
    if (present.length > 0) {
      const ls = await git(['ls-files', '-s', '-z', '--', ...present.map((p) => `:(literal)${p}`)], {
        cwd: repo,
        env,
        signal: opts.signal,
      });
      for (const rec of ls.stdout.split('\0')) {
        const m = /^(\d{6}) [0-9a-f]+ \d\t(.*)$/s.exec(rec);
        if (m) modes.set(m[2], m[1]);
      }
    }
    const lines: string[] = [];
    for (const f of files) {
      if (f.content === null) {
        lines.push(`0 ${'0'.repeat(40)}\t${f.path}`);
        continue;
      }
      const h = await git(['hash-object', '-w', '--stdin'], { cwd: repo, input: f.content, signal: opts.signal });
      const mode = modes.get(f.path);
      const keep = mode === '100755' ? '100755' : '100644';
      lines.push(`${keep} ${h.stdout.trim()}\t${f.path}`);
    }
    if (lines.length > 0) {
      await git(['update-index', '-z', '--index-info'], {
        cwd: repo,
        env,
        input: lines.join('\0') + '\0',
        signal: opts.signal,
      });
    }
    const t = await git(['write-tree'], { cwd: repo, env, signal: opts.signal });
    return t.stdout.trim();
  });
}

/**
 * A unified diff from `fromTree` to `toTree` with a/ b/ prefixes, full index lines and
 * binary hunks, no rename detection, that `git apply` accepts as is.
 */
export async function diffTrees(repo: string, fromTree: string, toTree: string, opts: PlumbingOptions = {}): Promise<string> {
  const r = await git(
    [
      'diff-tree', '-p', '--binary', '--full-index', '--no-renames', '--no-color', '--no-ext-diff', '--no-textconv',
      '--src-prefix=a/', '--dst-prefix=b/', fromTree, toTree,
    ],
    { cwd: repo, signal: opts.signal },
  );
  return r.stdout;
}

/**
 * Creates a commit object for `tree` with the given parents and message and returns its sha.
 * Author and committer are set explicitly (default `Hyperion <hyperion@localhost>`) so this
 * works without any user config; `date` is ms since the epoch (default: now). Never signs.
 */
export async function commitTree(
  repo: string,
  tree: string,
  parents: string[],
  message: string,
  opts: { author?: Identity; date?: number; signal?: AbortSignal } = {},
): Promise<string> {
  const who = opts.author ?? DEFAULT_IDENTITY;
  const when = `@${Math.floor((opts.date ?? Date.now()) / 1000)} +0000`;
  const env = {
    GIT_AUTHOR_NAME: who.name,
    GIT_AUTHOR_EMAIL: who.email,
    GIT_AUTHOR_DATE: when,
    GIT_COMMITTER_NAME: who.name,
    GIT_COMMITTER_EMAIL: who.email,
    GIT_COMMITTER_DATE: when,
  };
  const args = ['commit-tree', '--no-gpg-sign', tree];
  for (const p of parents) args.push('-p', p);
  args.push('-F', '-');
  const r = await git(args, { cwd: repo, env, input: message.endsWith('\n') ? message : `${message}\n`, signal: opts.signal });
  return r.stdout.trim();
}

/** The content of `path` in `treeish` as UTF-8, or undefined when there is no such blob. */
export async function readBlobAt(repo: string, treeish: string, filePath: string, opts: PlumbingOptions = {}): Promise<string | undefined> {
  const r = await git(['cat-file', 'blob', `${treeish}:${filePath}`], { cwd: repo, check: false, signal: opts.signal });
  if (r.code !== 0) return undefined;
  return r.stdout;
}
