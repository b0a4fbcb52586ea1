import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { assertNever, EngineError } from '../errors';
import { git } from '../git/exec';

/**
 * Keeping the user's checkout in step with the target ref, without ever losing their edits.
 *
 * Why spawn (`git()` from exec.ts) and not simple-git: this runs once per landing on the
 * serialized hot path; simple-git adds a fixed delay per command and strips the GIT_*
 * variables (GIT_LITERAL_PATHSPECS) we rely on for exact path matching.
 */

export interface CheckedOutWorktree {
  path: string;
  /** Absolute git dir of that worktree (where its index and index.lock live). */
  gitDir: string;
}

/**
 * The worktree that has `ref` checked out, if any. Looked up on every landing (never cached:
 * the user may switch branches at any time); `gitDirs` caches only path → git dir.
 */
export async function worktreeWithRef(repo: string, ref: string, gitDirs?: Map<string, string>): Promise<CheckedOutWorktree | undefined> {
  const r = await git(['worktree', 'list', '--porcelain', '-z'], { cwd: repo });
  let current: { path?: string; branch?: string; bare?: boolean } = {};
  const found: string[] = [];
  for (const line of r.stdout.split('\0')) {
    if (line === '') {
      if (current.path && current.branch === ref && !current.bare) found.push(current.path);
      current = {};
    } else if (line.startsWith('worktree ')) current.path = line.slice(9);
    else if (line.startsWith('branch ')) current.branch = line.slice(7);
    else if (line === 'bare') current.bare = true;
  }
  const wt = found[0];
  if (wt === undefined) return undefined;
  let gitDir = gitDirs?.get(wt);
  if (gitDir === undefined) {
    gitDir = (await git(['rev-parse', '--absolute-git-dir'], { cwd: wt })).stdout.trim();
    gitDirs?.set(wt, gitDir);
  }
  return { path: wt, gitDir };
}

/** Why the landing may not overwrite a path of the user's checkout. */
export type DirtyReason = 'unsaved' | 'uncommitted' | 'untracked' | 'ignored';

export interface DirtyPath {
  path: string;
  why: DirtyReason;
}

/** "README.md has unsaved edits; a.ts has uncommitted changes", at most `max` paths named. */
export function describeDirty(paths: readonly DirtyPath[], max = 5): string {
  const phrase = (d: DirtyPath): string => {
    switch (d.why) {
      case 'unsaved': return `${d.path} has unsaved edits`;
      case 'uncommitted': return `${d.path} has uncommitted changes`;
      case 'untracked': return `${d.path} is an untracked file in the way`;
      case 'ignored': return `${d.path} is an ignored file in the way`;
      default: return assertNever(d.why, 'dirty reason');
    }
  };
  const named = paths.slice(0, max).map(phrase).join('; ');
  return paths.length > max ? `${named}; and ${paths.length - max} more` : named;
}

/**
 * Which of `paths` the landing cannot safely overwrite, and why: unsaved editor changes first
 * (the user must save or discard them; "uncommitted" would send them to git), then modified,
 * staged, untracked or ignored files in the way. Sorted by path.
 */
export async function dirtyPaths(
  wt: CheckedOutWorktree,
  paths: string[],
  isPathDirtyInEditor?: (p: string) => boolean,
): Promise<DirtyPath[]> {
  const wanted = new Set(paths);
  const dirty = new Map<string, DirtyReason>();
  if (paths.length > 0) {
    // Large landings: ask for everything and filter, rather than overflow the argument list.
    const spec = paths.length <= 500 ? ['--', ...paths] : [];
    const r = await git(['status', '--porcelain', '-z', '--untracked-files=all', '--ignored=matching', '--no-renames', ...spec], {
      cwd: wt.path,
      env: { GIT_LITERAL_PATHSPECS: '1', GIT_OPTIONAL_LOCKS: '0' },
    });
    for (const rec of r.stdout.split('\0')) {
      if (rec.length < 4) continue;
      const code = rec.slice(0, 2);
      const why: DirtyReason = code === '??' ? 'untracked' : code === '!!' ? 'ignored' : 'uncommitted';
      const p = rec.slice(3);
      if (wanted.has(p)) dirty.set(p, why);
      // A directory reported as untracked/ignored that contains a path we write.
      else if (p.endsWith('/')) for (const w of wanted) if (w.startsWith(p)) dirty.set(w, why);
    }
  }
  if (isPathDirtyInEditor) for (const p of paths) if (isPathDirtyInEditor(p)) dirty.set(p, 'unsaved');
  return [...dirty].map(([path, why]) => ({ path, why })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export interface WorktreeMarker {
  pid: number;
  oldTip: string;
  newTip: string;
  at: number;
}

function markerPath(wt: CheckedOutWorktree): string {
  return path.join(wt.gitDir, 'hyperion-worktree-update.json');
}

/** Records that we are about to update this worktree (and may hold its index.lock). */
export async function writeMarker(wt: CheckedOutWorktree, m: WorktreeMarker): Promise<void> {
  const p = markerPath(wt);
  // Per-process temp name: a shared one made concurrent writers rename each other's file (ENOENT).
  const tmp = `${p}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(m));
  await fs.rename(tmp, p);
}

export async function readMarker(wt: CheckedOutWorktree): Promise<WorktreeMarker | undefined> {
  try {
    return JSON.parse(await fs.readFile(markerPath(wt), 'utf8')) as WorktreeMarker;
  } catch {
    return undefined;
  }
}

export async function removeMarker(wt: CheckedOutWorktree): Promise<void> {
  await fs.rm(markerPath(wt), { force: true });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Moves the worktree and the real index from `oldTip` to `newTip` for exactly the files that
 * differ (`read-tree -m -u`), which refuses to overwrite local modifications. Retries briefly
 * while someone else holds index.lock. Throws `queue/worktree-update` when git refuses.
 */
export async function updateWorktree(wt: CheckedOutWorktree, oldTip: string, newTip: string): Promise<void> {
  let refreshed = false;
  for (let i = 0; ; i++) {
    const r = await git(['read-tree', '-m', '-u', oldTip, newTip], { cwd: wt.path, check: false });
    if (r.code === 0) return;
    // read-tree refuses entries whose cached stat data is stale even when the content is
    // unchanged (e.g. a file rewritten with the same bytes); refresh once, as `git merge` does.
    // Only on demand: refreshing stats every file, which is costly on the serialized path.
    if (!refreshed && /not uptodate/.test(r.stderr)) {
      refreshed = true;
      await git(['update-index', '-q', '--refresh'], { cwd: wt.path, check: false });
      continue;
    }
    const locked = /index\.lock/.test(r.stderr);
    if (locked && i < 20) {
      await sleep(100);
      continue;
    }
    throw new EngineError('queue/worktree-update', `could not update the worktree: ${r.stderr.trim().split('\n')[0]}`, {
      details: { stderr: r.stderr },
    });
  }
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * After a crash: if our marker says a process of ours (now dead) was updating the worktree,
 * remove the index.lock it may have left, and finish the update when the index still
 * matches the old tip for the changed files. Never removes a lock without our marker.
 */
export async function finishInterruptedUpdate(
  wt: CheckedOutWorktree,
  currentTip: string,
): Promise<{ removedLocks: string[]; finished: boolean; marker?: WorktreeMarker }> {
  const marker = await readMarker(wt);
  if (!marker || pidAlive(marker.pid)) return { removedLocks: [], finished: false };
  const removedLocks: string[] = [];
  const lock = path.join(wt.gitDir, 'index.lock');
  try {
    await fs.rm(lock);
    removedLocks.push(lock);
  } catch {
    // no lock left behind
  }
  let finished = false;
  const head = (await git(['rev-parse', 'HEAD'], { cwd: wt.path })).stdout.trim();
  if (head === currentTip && (await indexMatches(wt, marker.oldTip, marker.newTip))) {
    await updateWorktree(wt, marker.oldTip, currentTip === marker.newTip ? marker.newTip : currentTip);
    finished = true;
  }
  await removeMarker(wt);
  return { removedLocks, finished, marker };
}

/** True when the index holds `oldTip`'s version of every path that differs between the tips. */
async function indexMatches(wt: CheckedOutWorktree, oldTip: string, newTip: string): Promise<boolean> {
  const diff = await git(['diff-tree', '-r', '-z', '--name-only', '--no-renames', oldTip, newTip], { cwd: wt.path });
  const paths = diff.stdout.split('\0').filter(Boolean);
  if (paths.length === 0) return false;
  const r = await git(['diff-index', '--cached', '--quiet', oldTip, '--', ...paths], {
    cwd: wt.path, check: false, env: { GIT_LITERAL_PATHSPECS: '1' },
  });
  return r.code === 0;
}
