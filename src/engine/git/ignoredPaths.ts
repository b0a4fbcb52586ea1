import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EngineError } from '../errors';
import { git } from './exec';

/**
 * Which of `paths` (new files, not in the base tree) git would leave out of `git add -A`
 * because an ignore rule matches them, decided by git itself without a checkout: the
 * `.gitignore` files of the tree the paths would land in (`gitignoreAt`, for each folder along
 * the paths) are written to a scratch folder that serves as the work tree of one
 * `git check-ignore --no-index`, whose git folder (its `info/exclude`, `core.excludesFile`)
 * is the repository's. One git process, and none when `paths` is empty.
 */
const gitDirs = new Map<string, Promise<string>>();

function gitDirOf(repo: string, signal?: AbortSignal): Promise<string> {
  let p = gitDirs.get(repo);
  if (!p) {
    p = git(['rev-parse', '--absolute-git-dir'], { cwd: repo, signal }).then((r) => r.stdout.trim());
    p.catch(() => gitDirs.delete(repo));
    gitDirs.set(repo, p);
  }
  return p;
}

export async function ignoredPaths(repo: string, paths: readonly string[], gitignoreAt: (dir: string) => Promise<string | undefined>, signal?: AbortSignal): Promise<Set<string>> {
  if (paths.length === 0) return new Set();
  const dirs = new Set<string>(['']);
  for (const p of paths) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  const [gitDir, ignores] = await Promise.all([gitDirOf(repo, signal), Promise.all([...dirs].map(async (d) => ({ d, text: await gitignoreAt(d) })))]);
  const work = await mkdtemp(path.join(os.tmpdir(), 'hyperion-ignore-'));
  try {
    await Promise.all(ignores.filter((g) => g.text !== undefined).map(async ({ d, text }) => {
      await mkdir(path.join(work, d), { recursive: true });
      await writeFile(path.join(work, d, '.gitignore'), text!);
    }));
    const r = await git([`--git-dir=${gitDir}`, `--work-tree=${work}`, 'check-ignore', '--no-index', '-z', '--stdin'], { cwd: work, input: paths.map((p) => `${p}\0`).join(''), signal, check: false });
    // 1: none of them is ignored.
    if (r.code === 1) return new Set();
    if (r.code !== 0) throw new EngineError('git/failed', `git check-ignore failed: ${r.stderr.trim().split('\n')[0] || `exit ${r.code}`}`);
    return new Set(r.stdout.split('\0').filter(Boolean));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
