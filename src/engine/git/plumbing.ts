import { randomBytes } from 'node:crypto';
import { copyFile, readdir, readFile, rm, unlink } from 'node:fs/promises';
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
  /**
   * Start from a copy of a cached index of the base instead of `read-tree` (which costs
   * ~15 ms in a 3000-file repo, more than the rest of the apply). Who creates it disposes it.
   */
  templates?: IndexTemplates;
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
    // unlink, not rm: rm stats first, which costs a few ms per call under load.
    await unlink(file).catch(() => undefined);
    await unlink(`${file}.lock`).catch(() => undefined);
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

/**
 * Private index files holding `read-tree <base>`, one per base, copied for each use. Safe
 * for concurrent use; `dispose()` removes the files (call it when done; idempotent).
 */
export class IndexTemplates {
  private readonly files = new Map<string, Promise<string>>();
  private readonly prefix = path.join(os.tmpdir(), `hyperion-template-${process.pid}-${randomBytes(6).toString('hex')}`);
  private seq = 0;

  constructor(private readonly repo: string) {}

  /** Fills the index file named in `env.GIT_INDEX_FILE` with `treeish`, from the cache. */
  async load(repo: string, treeish: string, env: Record<string, string>, signal?: AbortSignal): Promise<void> {
    if (repo !== this.repo) {
      await git(['read-tree', treeish], { cwd: repo, env, signal });
      return;
    }
    let file = this.files.get(treeish);
    if (!file) {
      const f = `${this.prefix}-${++this.seq}`;
      file = git(['read-tree', treeish], { cwd: repo, env: { GIT_INDEX_FILE: f } }).then(() => f);
      this.files.set(treeish, file);
      file.catch(() => this.files.delete(treeish));
    }
    await copyFile(await file, env.GIT_INDEX_FILE!);
  }

  async dispose(): Promise<void> {
    const all = [...this.files.values()];
    this.files.clear();
    for (const f of all) {
      const name = await f.catch(() => undefined);
      if (name) await rm(name, { force: true });
    }
  }
}

async function applyCached(
  repo: string,
  baseTreeish: string,
  patch: string,
  env: Record<string, string>,
  check: boolean,
  signal?: AbortSignal,
  templates?: IndexTemplates,
): Promise<{ ok: true } | { ok: false; error: string }> {
  if (templates) await templates.load(repo, baseTreeish, env, signal);
  else await git(['read-tree', baseTreeish], { cwd: repo, env, signal });
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
    const r = await applyCached(repo, baseTreeish, patch, env, false, opts.signal, opts.templates);
    if (!r.ok) throw new EngineError('patch/does-not-apply', r.error);
    const t = await git(['write-tree'], { cwd: repo, env, signal: opts.signal });
    return t.stdout.trim();
  });
}

/**
 * Applies a patch to `baseTreeish` and returns what it changed, as tree entries over the base
 * (blobs are written; no tree is). One `apply --cached` and one `diff-index` for any number of
 * files, so many patches that touch different files can be applied together and their changes
 * split by path afterwards. Throws `patch/does-not-apply` with git's reason on one line.
 */
export async function patchChanges(repo: string, baseTreeish: string, patch: string, opts: PlumbingOptions = {}): Promise<TreeChange[]> {
  return withPrivateIndex(async (env) => {
    const r = await applyCached(repo, baseTreeish, patch, env, false, opts.signal, opts.templates);
    if (!r.ok) throw new EngineError('patch/does-not-apply', r.error);
    const d = await git(['diff-index', '--cached', '-r', '-z', '--raw', '--no-renames', baseTreeish], { cwd: repo, env, signal: opts.signal });
    return treeChangesFromRaw(d.stdout);
  });
}

/** Tree changes from `diff-tree`/`diff-index` `-r -z --raw --no-renames` output (new side). */
export function treeChangesFromRaw(raw: string): TreeChange[] {
  const out: TreeChange[] = [];
  const f = raw.split('\0');
  for (let i = 0; i + 1 < f.length; i += 2) {
    const m = /^:[0-7]{6} ([0-7]{6}) [0-9a-f]+ ([0-9a-f]+) /.exec(f[i]!);
    if (!m) continue;
    out.push(m[1] === '000000' ? { path: f[i + 1]!, mode: null } : { path: f[i + 1]!, mode: m[1]!, sha: m[2]! });
  }
  return out;
}

/** Like applyPatchToTree, but only reports whether the patch applies. Never throws for a bad patch. */
export async function checkPatchApplies(
  repo: string,
  baseTreeish: string,
  patch: string,
  opts: PlumbingOptions = {},
): Promise<{ ok: true } | { ok: false; error: string }> {
  return withPrivateIndex((env) => applyCached(repo, baseTreeish, patch, env, true, opts.signal, opts.templates));
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

/** One entry of a commit's tree changed over its parent's tree; `mode: null` deletes. */
export type TreeChange = { path: string; mode: string; sha: string } | { path: string; mode: null };

export interface CommitSpec {
  /** The single parent: a commit sha, or the position of an earlier spec in the same call. */
  parent: string | number;
  message: string;
  /** ms since the epoch. */
  date: number;
  author?: Identity;
  /** The commit's whole tree, or else… */
  tree?: string;
  /** …the parent's tree with these entries changed. */
  changes?: TreeChange[];
}

const OBJECT_ID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** C-style quoting as fast-import reads it; every path is quoted so no byte is ambiguous. */
function quotePath(p: string): string {
  if (p.includes('\0')) throw new EngineError('git/bad-path', 'a path contains a NUL byte');
  let out = '"';
  for (const ch of p) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (c < 0x20 || c === 0x7f) out += `\\${c.toString(8).padStart(3, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function identLine(kind: 'author' | 'committer', who: Identity, date: number): string {
  if (/[<>\n]/.test(who.name) || /[<>\n]/.test(who.email)) throw new EngineError('git/bad-identity', 'an identity contains <, > or a newline');
  return `${kind} ${who.name} <${who.email}> ${Math.floor(date / 1000)} +0000\n`;
}

/**
 * Creates many single-parent commits in ONE `git fast-import` process; `commitTree` costs a
 * process (~5 ms) per commit, which adds up on the queue's serialized path. The commit
 * objects are byte-identical to what `commitTree` writes for the same tree, parent, message,
 * identity and date. Returns the shas in spec order. No ref is left behind: the scratch
 * branch fast-import needs is deleted in the same stream (`reset` without `from`).
 * Throws `git/failed` when git refuses (e.g. an unknown parent or tree); the crash report
 * fast-import then writes into the git dir is removed.
 */
export async function writeCommits(repo: string, specs: CommitSpec[], opts: PlumbingOptions = {}): Promise<string[]> {
  if (specs.length === 0) return [];
  const ref = `refs/hyperion/fast-import/${process.pid}-${randomBytes(6).toString('hex')}`;
  const parts: Buffer[] = [];
  specs.forEach((s, i) => {
    const who = s.author ?? DEFAULT_IDENTITY;
    const message = Buffer.from(s.message.endsWith('\n') ? s.message : `${s.message}\n`, 'utf8');
    let parent: string;
    if (typeof s.parent === 'number') {
      if (!Number.isInteger(s.parent) || s.parent < 0 || s.parent >= i) throw new EngineError('git/bad-rev', `commit ${i} names a parent that is not an earlier commit`);
      parent = `:${s.parent + 1}`;
    } else if (OBJECT_ID.test(s.parent)) parent = s.parent;
    else throw new EngineError('git/bad-rev', 'a parent must be a full object id');
    let body = `commit ${ref}\nmark :${i + 1}\n${identLine('author', who, s.date)}${identLine('committer', who, s.date)}data ${message.length}\n`;
    parts.push(Buffer.from(body, 'utf8'), message);
    body = `from ${parent}\n`;
    if (s.tree !== undefined) {
      if (!OBJECT_ID.test(s.tree)) throw new EngineError('git/bad-rev', 'a tree must be a full object id');
      body += `M 040000 ${s.tree} ""\n`;
    }
    // Deletions first, so a file that becomes a directory (or back) never collides.
    const changes = s.changes ?? [];
    for (const c of changes) if (c.mode === null) body += `D ${quotePath(c.path)}\n`;
    for (const c of changes) {
      if (c.mode === null) continue;
      if (!/^(100644|100755|120000|160000|040000)$/.test(c.mode) || !OBJECT_ID.test(c.sha)) throw new EngineError('git/bad-rev', `bad tree entry for ${c.path}`);
      body += `M ${c.mode} ${c.sha} ${quotePath(c.path)}\n`;
    }
    parts.push(Buffer.from(`${body}\n`, 'utf8'));
  });
  parts.push(Buffer.from(`reset ${ref}\n\ndone\n`, 'utf8'));
  const marks = path.join(os.tmpdir(), `hyperion-marks-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    const r = await git(['fast-import', '--quiet', '--done', '--date-format=raw', `--export-marks=${marks}`], {
      cwd: repo, input: Buffer.concat(parts), signal: opts.signal, check: false,
    });
    if (r.code !== 0) {
      await removeCrashReports(repo, ref);
      throw new EngineError('git/failed', `git fast-import failed: ${oneLineReason(r.stderr)}`, { details: { stderr: r.stderr } });
    }
    const byMark = new Map<number, string>();
    for (const line of (await readFile(marks, 'utf8')).split('\n')) {
      const m = /^:(\d+) ([0-9a-f]+)$/.exec(line);
      if (m) byMark.set(Number(m[1]), m[2]!);
    }
    return specs.map((_, i) => {
      const sha = byMark.get(i + 1);
      if (!sha) throw new EngineError('git/failed', `git fast-import did not report commit ${i + 1}`);
      return sha;
    });
  } finally {
    await rm(marks, { force: true });
  }
}

/** fast-import leaves `fast_import_crash_<pid>` in the git dir when it dies; remove ours. */
async function removeCrashReports(repo: string, ref: string): Promise<void> {
  const g = await git(['rev-parse', '--absolute-git-dir'], { cwd: repo, check: false });
  if (g.code !== 0) return;
  const dir = g.stdout.trim();
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith('fast_import_crash_')) continue;
    const file = path.join(dir, name);
    const text = await readFile(file, 'utf8').catch(() => '');
    if (text.includes(ref)) await rm(file, { force: true });
  }
}
