import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { gitCommonDir } from '../git/exec';

/**
 * The state folder for a repository: `<git common dir>/hyperion/`, created if missing.
 * Inside `.git` it is never committed, and it is the same folder for the CLI, the
 * extension and every worktree of the repository. Throws `git/failed` outside a repository.
 */
export async function stateDirFor(repo: string): Promise<string> {
  const dir = path.join(await gitCommonDir(repo), 'hyperion');
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * Where a repository's agent task worktrees live: outside `.git` and outside the checkout, in
 * the user's cache (`$HYPERION_WORKTREES_DIR`, else `$XDG_CACHE_HOME/hyperion` or
 * `~/.cache/hyperion`), one folder per repository named after it and a hash of its git common
 * dir. Not under `.git`: coding agents (Claude Code) refuse to edit files below a `.git` folder.
 */
export async function worktreeBaseFor(repo: string): Promise<string> {
  const common = path.resolve(await gitCommonDir(repo));
  const root = process.env.HYPERION_WORKTREES_DIR || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'hyperion');
  const name = path.basename(path.dirname(common)).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 40) || 'repo';
  const dir = path.join(root, `${name}-${createHash('sha256').update(common).digest('hex').slice(0, 12)}`);
  await mkdir(dir, { recursive: true });
  return dir;
}
