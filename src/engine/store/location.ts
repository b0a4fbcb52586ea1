import { mkdir } from 'node:fs/promises';
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
