import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EngineError, isEngineError } from '../errors';
import { readObjects, type BatchAnswer } from './catFile';
import { git, gitRaw } from './exec';
import { keepTreeIndex, loadTreeIndex } from './indexCache';
import { objectsDirFor, writeLooseBlob } from './looseObjects';
import { writeTreeFromFiles } from './treeWriter';
import { assertRepoRelativePath, oneLineReason, readBlobAt, withPrivateIndex, commitTree, writeCommits } from './plumbing';

/**
 * Batched object-level git helpers for the scheduler and the agents.
 *
 * Each git process costs a spawn plus ~4 ms of event-loop time on a loaded box, and every
 * running task waits while it happens, so these do in a fixed number of processes what
 * `plumbing.ts` does per patch or per file. Like plumbing, they never touch the worktree or
 * the real index: every index is a private `GIT_INDEX_FILE`, removed after the call.
 */

export interface BatchOptions {
  signal?: AbortSignal;
}

const DIFF_ARGS = ['--binary', '--full-index', '--no-renames', '--no-color', '--no-ext-diff', '--no-textconv', '--src-prefix=a/', '--dst-prefix=b/'];

function withNewline(patch: string): string {
  return patch.endsWith('\n') ? patch : `${patch}\n`;
}

const treeCache = new Map<string, string>();
const TREE_CACHE_MAX = 1000;

/**
 * The tree of `commit` (a full object id). Cached per repository and commit, because a
 * commit's tree never changes; other revisions (names that can move) are not cached.
 */
export async function treeOfCommit(repo: string, commit: string, opts: BatchOptions = {}): Promise<string> {
  const cacheable = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(commit);
  const key = `${repo}\0${commit}`;
  const hit = cacheable ? treeCache.get(key) : undefined;
  if (hit) return hit;
  const tree = (await git(['rev-parse', `${commit}^{tree}`], { cwd: repo, signal: opts.signal })).stdout.trim();
  if (cacheable) {
    if (treeCache.size >= TREE_CACHE_MAX) treeCache.delete(treeCache.keys().next().value!);
    treeCache.set(key, tree);
  }
  return tree;
}

/**
 * Applies `patches` one after the other on `baseTreeish` with ONE private index (`read-tree`
 * once, `apply --cached` per non-empty patch, `write-tree` once) and returns the tree.
 * Throws EngineError `patch/does-not-apply` with git's reason on one line and
 * `details.index` = the position of the first patch that did not apply.
 */
export async function applyPatches(repo: string, baseTreeish: string, patches: readonly string[], opts: BatchOptions = {}): Promise<string> {
  if (patches.every((p) => p.trim() === '')) {
    return (await git(['rev-parse', `${baseTreeish}^{tree}`], { cwd: repo, signal: opts.signal })).stdout.trim();
  }
  return withPrivateIndex(async (env) => {
    await loadTreeIndex(repo, baseTreeish, env, opts.signal);
    for (const [index, patch] of patches.entries()) {
      if (patch.trim() === '') continue;
      const r = await git(['apply', '--cached', '--whitespace=nowarn'], { cwd: repo, env, input: withNewline(patch), signal: opts.signal, check: false });
      if (r.code !== 0) throw new EngineError('patch/does-not-apply', oneLineReason(r.stderr), { details: { index } });
    }
    const tree = (await git(['write-tree'], { cwd: repo, env, signal: opts.signal })).stdout.trim();
    // A dependent's base: its finishing answer starts from this tree.
    await keepTreeIndex(repo, tree, env.GIT_INDEX_FILE!);
    return tree;
  });
}

/** A change as a tree and its canonical diff (`diffTrees` format) from the base. */
export interface TreeAndPatch {
  tree: string;
  patch: string;
}

/**
 * Applies `patch` to `baseTree` and returns the resulting tree with the canonical diff from
 * `baseTree` (the same text `plumbing.diffTrees` gives): four processes instead of the six
 * of `checkPatchApplies` + `applyPatchToTree` + `diffTrees`. A patch that does not apply is
 * `{ ok: false, error }` with git's reason on one line (git applies all or nothing).
 */
export async function applyAndDiff(repo: string, baseTree: string, patch: string, opts: BatchOptions = {}): Promise<({ ok: true } & TreeAndPatch) | { ok: false; error: string }> {
  return withPrivateIndex(async (env) => {
    await loadTreeIndex(repo, baseTree, env, opts.signal);
    const r = await git(['apply', '--cached', '--whitespace=nowarn'], { cwd: repo, env, input: withNewline(patch), signal: opts.signal, check: false });
    if (r.code !== 0) return { ok: false as const, error: oneLineReason(r.stderr) };
    const tree = (await git(['write-tree'], { cwd: repo, env, signal: opts.signal })).stdout.trim();
    const [diff] = await Promise.all([
      git(['diff-tree', '-p', ...DIFF_ARGS, baseTree, tree], { cwd: repo, signal: opts.signal }),
      keepTreeIndex(repo, tree, env.GIT_INDEX_FILE!),
    ]);
    return { ok: true as const, tree, patch: diff.stdout };
  });
}

/**
 * Writes `contents` as blobs (UTF-8, no filters, like `hash-object -w --stdin`) and returns
 * their ids in order: from this process as loose objects (looseObjects.ts) where the
 * repository allows, else with ONE `git hash-object --stdin-paths` over temp files.
 */
export async function writeBlobs(repo: string, contents: readonly string[], opts: BatchOptions = {}): Promise<string[]> {
  if (contents.length === 0) return [];
  const objects = await objectsDirFor(repo);
  if (objects !== undefined) return Promise.all(contents.map((c) => writeLooseBlob(objects, Buffer.from(c, 'utf8'))));
  const dir = path.join(os.tmpdir(), `hyperion-blobs-${process.pid}-${randomBytes(6).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  try {
    const files = contents.map((_, i) => path.join(dir, String(i)));
    await Promise.all(contents.map((c, i) => writeFile(files[i]!, c, 'utf8')));
    const r = await git(['hash-object', '-w', '--no-filters', '--stdin-paths'], { cwd: repo, input: `${files.join('\n')}\n`, signal: opts.signal });
    const ids = r.stdout.split('\n').filter(Boolean);
    if (ids.length !== contents.length) throw new EngineError('git/failed', `git hash-object wrote ${ids.length} of ${contents.length} blobs`);
    return ids;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The raw section of `diff-tree --raw -p` (lines before the first empty line), and the patch after it. */
function splitRawAndPatch(out: string): { raw: string[]; patch: string } {
  if (out === '') return { raw: [], patch: '' };
  const cut = out.indexOf('\n\n');
  if (cut < 0) return { raw: out.split('\n').filter(Boolean), patch: '' };
  return { raw: out.slice(0, cut).split('\n'), patch: out.slice(cut + 2) };
}

/**
 * Returns the tree of `baseTree` with `files` written over it (`content: null` deletes) and
 * the canonical diff from `baseTree`. Same result as `plumbing.treeFromFiles` + `diffTrees`:
 * existing files keep an executable mode, everything else written is 100644. Usually the
 * trees are written from the engine (treeWriter.ts) and the diff is the only process; where
 * that writer leaves the work to git, at most five
 * processes for any number of files (`read-tree` unless a kept index of `baseTree` is copied
 * (indexCache.ts), `hash-object` unless the blobs are written from here (looseObjects.ts), one
 * `update-index`, `write-tree`, one `diff-tree --raw -p`); three more only when an executable
 * file was overwritten, which the raw section of the diff reveals (it is then fixed from `ls-tree`).
 * Throws `patch/outside-repo` for a path that is absolute or contains `..`.
 */
export async function treeFromFilesWithDiff(
  repo: string,
  baseTree: string,
  files: ReadonlyArray<{ path: string; content: string | null }>,
  opts: BatchOptions = {},
): Promise<TreeAndPatch> {
  for (const f of files) assertRepoRelativePath(f.path);
  // Most answers: the trees written from here, and one git process (the diff) in all.
  const written = await writeTreeFromFiles(repo, baseTree, files, opts.signal);
  if (written !== undefined) {
    const diff = await git(['diff-tree', '-p', ...DIFF_ARGS, baseTree, written], { cwd: repo, signal: opts.signal });
    return { tree: written, patch: diff.stdout };
  }
  const present = files.filter((f): f is { path: string; content: string } => f.content !== null);
  return withPrivateIndex(async (env) => {
    const [ids] = await Promise.all([
      writeBlobs(repo, present.map((f) => f.content), opts),
      loadTreeIndex(repo, baseTree, env, opts.signal),
    ]);
    const sha = new Map(present.map((f, i) => [f.path, ids[i]!]));
    const lines = files.map((f) => (f.content === null ? `0 ${'0'.repeat(40)}\t${f.path}` : `100644 ${sha.get(f.path)}\t${f.path}`));
    if (lines.length > 0) await git(['update-index', '-z', '--index-info'], { cwd: repo, env, input: `${lines.join('\0')}\0`, signal: opts.signal });
    let tree = (await git(['write-tree'], { cwd: repo, env, signal: opts.signal })).stdout.trim();
    // Kept while the diff runs: a dependent of this change starts from this tree.
    const [diff] = await Promise.all([
      git(['diff-tree', '--raw', '-p', ...DIFF_ARGS, baseTree, tree], { cwd: repo, signal: opts.signal }),
      keepTreeIndex(repo, tree, env.GIT_INDEX_FILE!),
    ]);
    let out = splitRawAndPatch(diff.stdout);
    if (out.raw.some((l) => l.startsWith(':100755 100644 '))) {
      // An executable file was overwritten: restore its mode (rare, so not worth a process every time).
      const ls = await git(['ls-tree', '-z', baseTree, '--', ...present.map((f) => `:(literal)${f.path}`)], { cwd: repo, signal: opts.signal });
      const fix: string[] = [];
      for (const rec of ls.stdout.split('\0')) {
        const m = /^100755 blob [0-9a-f]+\t(.*)$/s.exec(rec);
        if (m && sha.has(m[1]!)) fix.push(`100755 ${sha.get(m[1]!)}\t${m[1]}`);
      }
      if (fix.length > 0) {
        await git(['update-index', '-z', '--index-info'], { cwd: repo, env, input: `${fix.join('\0')}\0`, signal: opts.signal });
        tree = (await git(['write-tree'], { cwd: repo, env, signal: opts.signal })).stdout.trim();
        out = splitRawAndPatch((await git(['diff-tree', '--raw', '-p', ...DIFF_ARGS, baseTree, tree], { cwd: repo, signal: opts.signal })).stdout);
      }
    }
    return { tree, patch: out.patch };
  });
}

/**
 * The contents of `paths` in `treeish` as UTF-8 (undefined where there is no blob: missing,
 * a folder, a submodule), read through the repository's long-lived `git cat-file --batch`
 * (catFile.ts), or one of their own when that one failed. A path with a newline cannot be
 * named in batch input and is read on its own.
 */
export async function readBlobsAt(repo: string, treeish: string, paths: readonly string[], opts: BatchOptions = {}): Promise<Array<string | undefined>> {
  const out: Array<string | undefined> = new Array(paths.length).fill(undefined);
  const batched = paths.map((p, i) => ({ p, i })).filter(({ p }) => !p.includes('\n') && !p.includes('\r'));
  if (batched.length > 0) {
    const names = batched.map(({ p }) => `${treeish}:${p}`);
    let answers: BatchAnswer[];
    try {
      answers = await readObjects(repo, names, opts.signal);
    } catch (e) {
      // The shared batch process failed: read these once more with a process of their own.
      if (!isEngineError(e, 'git/failed')) throw e;
      answers = await readObjectsOnce(repo, names, opts.signal);
    }
    batched.forEach(({ i }, k) => {
      const a = answers[k];
      if (a?.type === 'blob') out[i] = a.content.toString('utf8');
    });
  }
  for (const { p, i } of paths.map((p, i) => ({ p, i })).filter(({ p }) => p.includes('\n') || p.includes('\r'))) {
    out[i] = await readBlobAt(repo, treeish, p, opts);
  }
  return out;
}

/** `readObjects` with one `git cat-file --batch` process of its own. */
async function readObjectsOnce(repo: string, names: string[], signal?: AbortSignal): Promise<BatchAnswer[]> {
  const buf = await gitBytes(repo, ['cat-file', '--batch'], names.map((n) => `${n}\n`).join(''), signal);
  const answers: BatchAnswer[] = [];
  let at = 0;
  for (let k = 0; k < names.length; k++) {
    const nl = buf.indexOf(0x0a, at);
    if (nl < 0) throw new EngineError('git/failed', 'git cat-file --batch ended early');
    const header = buf.subarray(at, nl).toString('utf8');
    at = nl + 1;
    const m = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
    if (!m) {
      answers.push(undefined); // `<name> missing` or `<name> ambiguous`: no content follows
      continue;
    }
    const size = Number(m[2]);
    answers.push({ type: m[1]!, content: buf.subarray(at, at + size) });
    at += size + 1;
  }
  return answers;
}

function gitBytes(repo: string, args: string[], input: string, signal?: AbortSignal): Promise<Buffer> {
  return gitRaw(args, { cwd: repo, input, signal }).then((r) => r.stdout);
}

/** A commit as `plumbing.commitTree` would write it (default identity, one parent), and the ref that keeps it alive. */
export interface KeptCommit {
  tree: string;
  parent: string;
  message: string;
  /** ms since the epoch. */
  date: number;
  /** Set to the commit, best effort (a stale lock must not fail the caller). */
  ref: string;
}

interface PendingCommit {
  spec: KeptCommit;
  resolve(sha: string): void;
  reject(e: unknown): void;
}

const commitQueues = new Map<string, { pending: PendingCommit[]; flushing: boolean }>();

/**
 * Writes a commit byte-identical to `commitTree(repo, tree, [parent], message, { date })` and
 * points `ref` at it, batched: while one batch is being written, later calls queue up and go
 * out together in the next one, as ONE `git fast-import` (`plumbing.writeCommits`) and ONE
 * `git update-ref --stdin`. Under load the batches grow, so the process count per commit
 * falls exactly when processes are most expensive. Rejects with writeCommits' error when git
 * refuses the batch (every commit of that batch then rejects). The ref is best effort: when
 * the batched update fails (e.g. a stale lock on one ref), each ref is retried on its own and
 * failures are ignored. Not cancellable: the batch is shared by several callers.
 */
export function writeKeptCommit(repo: string, spec: KeptCommit): Promise<string> {
  let q = commitQueues.get(repo);
  if (!q) commitQueues.set(repo, (q = { pending: [], flushing: false }));
  const queue = q;
  const out = new Promise<string>((resolve, reject) => queue.pending.push({ spec, resolve, reject }));
  if (!queue.flushing) {
    queue.flushing = true;
    setImmediate(() => void flushCommits(repo, queue));
  }
  return out;
}

async function flushCommits(repo: string, queue: { pending: PendingCommit[]; flushing: boolean }): Promise<void> {
  while (queue.pending.length > 0) {
    const batch = queue.pending.splice(0);
    try {
      // One commit alone: commit-tree is the lighter process (no marks file, no scratch ref).
      const shas =
        batch.length === 1
          ? [await commitTree(repo, batch[0]!.spec.tree, [batch[0]!.spec.parent], batch[0]!.spec.message, { date: batch[0]!.spec.date })]
          : await writeCommits(repo, batch.map((p) => ({ parent: p.spec.parent, tree: p.spec.tree, message: p.spec.message, date: p.spec.date })));
      const input = batch.map((p, i) => `update ${p.spec.ref} ${shas[i]}\n`).join('');
      const r = await git(['update-ref', '--stdin'], { cwd: repo, input, check: false });
      if (r.code !== 0) {
        for (const [i, p] of batch.entries()) await git(['update-ref', p.spec.ref, shas[i]!], { cwd: repo, check: false });
      }
      batch.forEach((p, i) => p.resolve(shas[i]!));
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  }
  queue.flushing = false;
  if (queue.pending.length === 0) commitQueues.delete(repo);
}
