import { existsSync } from 'node:fs';
import { copyFile, mkdir, rm, rmdir, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { EngineError, isEngineError } from '../errors';
import { git } from './exec';
import { withPrivateIndex } from './plumbing';
import { worktreeBaseFor } from '../store/location';

/**
 * A git worktree per agent-run task, under `<worktree base>/worktrees/<run>/<task>` where the
 * base is the repository's folder in the user's cache (`worktreeBaseFor`): never in the user's
 * checkout, never seen by its `git status`, and not under `.git`, where agents refuse to edit.
 * Checked out detached at the task's base commit. The change is read back with plumbing on a
 * private index, so neither the user's index nor the worktree's own is written.
 */

/** Same diff form as the rest of the engine (`git/batch.ts`): a rename is a delete plus an add. */
const DIFF_ARGS = ['--binary', '--full-index', '--no-renames', '--no-color', '--no-ext-diff', '--no-textconv', '--src-prefix=a/', '--dst-prefix=b/'];

export interface TaskWorktree {
  /** The worktree's top folder: the agent's working directory. */
  dir: string;
  /** A folder beside the worktree (outside it) for the harness's own files. */
  scratchDir: string;
  baseCommit: string;
  baseTree: string;
}

function safeSegment(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80) || '_';
}

/** Where a task's worktree lives. `stateDir` is the repository's worktree base (`worktreeBaseFor`). */
export function taskWorktreePath(stateDir: string, runId: string, taskId: string): string {
  return path.join(stateDir, 'worktrees', safeSegment(runId), safeSegment(taskId));
}

/**
 * The folder of a task's worktree when one is there (kept after the agent failed, was stopped
 * or escaped), else undefined. Run and task ids are only path segments (`safeSegment`).
 */
export async function keptTaskWorktree(repo: string, runId: string, taskId: string): Promise<string | undefined> {
  const dir = taskWorktreePath(await worktreeBaseFor(repo), runId, taskId);
  return existsSync(path.join(dir, '.git')) ? dir : undefined;
}

/**
 * Creates the task's worktree at `baseCommit` (whose tree is `baseTree`). A worktree left at the
 * same place by a failed earlier attempt is removed first: the newest attempt's is the one kept.
 * Hooks are off for the checkout (a `post-checkout` hook must not run in a folder the user never
 * opened). Costs one `git worktree add` (plus a remove when an old one is in the way).
 * Throws `git/failed`.
 */
export async function createTaskWorktree(repo: string, stateDir: string, spec: { runId: string; taskId: string; baseCommit: string; baseTree: string; signal?: AbortSignal }): Promise<TaskWorktree> {
  const dir = taskWorktreePath(stateDir, spec.runId, spec.taskId);
  const scratchDir = `${dir}.hyperion`;
  if (existsSync(dir) || existsSync(scratchDir)) await removeTaskWorktree(repo, { dir, scratchDir });
  await mkdir(path.dirname(dir), { recursive: true });
  await mkdir(scratchDir, { recursive: true });
  // checkout.workers=0: parallel checkout, one worker per core (git ≥ 2.32; older git ignores
  // it). Writing the files is what a big checkout costs, and it is ~3× faster so (bench/worktree.bench.ts).
  for (let attempt = 1; ; attempt++) {
    try {
      await git(['-c', `core.hooksPath=${path.join(stateDir, 'no-hooks')}`, '-c', 'checkout.workers=0', 'worktree', 'add', '--detach', '--quiet', dir, spec.baseCommit], { cwd: repo, signal: spec.signal });
      break;
    } catch (e) {
      // Parallel tasks add worktrees at the same time, and git reads every worktree's admin folder
      // while adding one: a folder another add has only half written fails this add. Try again.
      if (attempt >= 4 || !isEngineError(e, 'git/') || !/\.git\/worktrees\/[^/\s]+\/(?:commondir|gitdir|HEAD)/.test(e.message)) throw e;
      await removeTaskWorktree(repo, { dir, scratchDir });
      await mkdir(scratchDir, { recursive: true });
    }
  }
  created++;
  return { dir, scratchDir, baseCommit: spec.baseCommit, baseTree: spec.baseTree };
}

let created = 0;

/** How many task worktrees this process has checked out (for tests: a task without commands makes none). */
export function taskWorktreesCreated(): number {
  return created;
}

/**
 * The worktree's difference from its base tree: everything the agent left in the folder
 * (added, modified, deleted files and mode changes; a rename is a delete plus an add), whatever
 * it did to the worktree's index or HEAD meanwhile. Ignored files are left out, as `git add -A`
 * leaves them. The private index is seeded from the base tree with the stat data of the
 * worktree's own index (`read-tree -m`), so only files that changed are hashed again.
 */
export async function captureWorktreeChange(wt: { dir: string; baseTree: string }, opts: { signal?: AbortSignal } = {}): Promise<{ patch: string; tree: string }> {
  const { dir, baseTree } = wt;
  const signal = opts.signal;
  return withPrivateIndex(async (env) => {
    const own = (await git(['rev-parse', '--path-format=absolute', '--git-path', 'index'], { cwd: dir, signal })).stdout.trim();
    // The copy keeps the index's own mtime: git trusts a file's stat data only when the file is
    // older than the index, so a same-size edit made in the checkout's second must still look
    // racy, or it is missed (a fresh mtime on the copy would hide it).
    const seeded = await copyFile(own, env.GIT_INDEX_FILE!).then(
      async () => {
        const st = await stat(own);
        await utimes(env.GIT_INDEX_FILE!, st.atime, st.mtime);
        return true;
      },
      () => false,
    );
    const read = await git(['read-tree', ...(seeded ? ['-m'] : []), baseTree], { cwd: dir, env, signal, check: false });
    // `-m` refuses an index with conflicts the agent left; the plain form starts from the tree alone.
    if (read.code !== 0) await git(['read-tree', baseTree], { cwd: dir, env, signal });
    await git(['add', '-A', '--', '.'], { cwd: dir, env, signal });
    const tree = (await git(['write-tree'], { cwd: dir, env, signal })).stdout.trim();
    if (!/^[0-9a-f]{40,64}$/.test(tree)) throw new EngineError('git/bad-output', `git write-tree printed ${JSON.stringify(tree)}`);
    const patch = tree === baseTree ? '' : (await git(['diff-tree', '-p', ...DIFF_ARGS, baseTree, tree], { cwd: dir, signal })).stdout;
    return { patch, tree };
  });
}

/**
 * Removes a task's worktree, its git metadata and its scratch folder. Never throws: a folder
 * that cannot be removed is left, and `git worktree prune` forgets it once it is gone.
 */
export async function removeTaskWorktree(repo: string, wt: { dir: string; scratchDir: string }): Promise<void> {
  const removed = await git(['worktree', 'remove', '--force', '--force', wt.dir], { cwd: repo, check: false }).catch(() => undefined);
  await rm(wt.dir, { recursive: true, force: true }).catch(() => undefined);
  await rm(wt.scratchDir, { recursive: true, force: true }).catch(() => undefined);
  if (removed?.code !== 0) await git(['worktree', 'prune'], { cwd: repo, check: false }).catch(() => undefined);
  // The run's folder goes with its last worktree (rmdir refuses while another task's is there).
  await rmdir(path.dirname(wt.dir)).catch(() => undefined);
}
