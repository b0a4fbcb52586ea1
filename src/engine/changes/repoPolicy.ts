import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { git } from '../git/exec';
import { readBlobsAt } from '../git/batch';
import { hooksPathRisks, type HighRiskPath } from './highRisk';
import { parsePatch, patchFiles } from './patch';
import type { PatchPolicyOptions } from './policy';

/**
 * What the policy needs from the repository itself. The policy functions stay pure; the
 * callers that hold a repository (the scheduler, the queue) read these and pass them in.
 */

/** Per repository: its git config file, resolved once (it never moves). */
const configFiles = new Map<string, Promise<string[]>>();
/** Per repository: the last answer and the config files' state it was read with. */
const hooksCache = new Map<string, { stamp: string; risks: HighRiskPath[] }>();

function configFilesOf(repo: string): Promise<string[]> {
  let p = configFiles.get(repo);
  if (!p) {
    p = git(['rev-parse', '--path-format=absolute', '--git-common-dir', '--git-dir'], { cwd: repo, check: false }).then((r) => {
      const dirs = r.code === 0 ? r.stdout.split('\n').filter(Boolean) : [];
      const home = os.homedir();
      const xdg = process.env.XDG_CONFIG_HOME || path.join(home, '.config');
      return [...new Set([...dirs.map((d) => path.join(d, 'config')), ...dirs.map((d) => path.join(d, 'config.worktree')), path.join(home, '.gitconfig'), path.join(xdg, 'git', 'config'), '/etc/gitconfig'])];
    });
    configFiles.set(repo, p);
  }
  return p;
}

/** A cheap fingerprint of every config file git reads here (and the env that overrides them). */
async function configStamp(repo: string): Promise<string> {
  const parts = [process.env.GIT_CONFIG_GLOBAL ?? '', process.env.GIT_CONFIG_SYSTEM ?? '', process.env.GIT_CONFIG_COUNT ?? '', process.env.GIT_CONFIG_PARAMETERS ?? ''];
  for (const f of await configFilesOf(repo)) {
    try {
      const st = fs.statSync(f);
      parts.push(`${f}:${st.mtimeMs}:${st.size}:${st.ino}`);
    } catch {
      parts.push(`${f}:-`);
    }
  }
  return parts.join('|');
}

/**
 * The folder `git config core.hooksPath` names, as high-risk paths (see `hooksPathRisks`).
 * One git process: `rev-parse --git-path hooks` resolves the setting the way git itself does
 * when it runs a hook (any config scope, `~` expanded, relative to the work tree root). The
 * answer is reused only while none of git's config files changed (checked with a stat of
 * each, so every change still sees a setting made since). Empty when unset (the default
 * `.git/hooks` is covered by the git-dir rule) or unreadable. Not seen: a setting in a file
 * pulled in by `include.path` that changes while the files that include it do not.
 */
export async function hooksPathRisksOf(repo: string, signal?: AbortSignal): Promise<HighRiskPath[]> {
  const stamp = await configStamp(repo);
  const hit = hooksCache.get(repo);
  if (hit && hit.stamp === stamp) return hit.risks;
  const r = await git(['rev-parse', '--path-format=absolute', '--show-toplevel', '--git-path', 'hooks'], { cwd: repo, check: false, signal });
  if (r.code !== 0) return [];
  const [root, hooks] = r.stdout.split('\n');
  const risks = !root || !hooks ? [] : hooksPathRisks(hooks, root);
  hooksCache.set(repo, { stamp, risks });
  return risks;
}

const PACKAGE_JSON_RE = /(^|\/)package\.json$/i;

/**
 * Everything repository-bound the policy reads for `patch`, a change from `baseTree` to
 * `tree`: the hooks folder, and the package.json files the patch touches on both sides (so
 * lifecycle scripts are compared exactly, not guessed from patch lines). A patch our parser
 * cannot read gets the hooks folder only; the policy then blocks it as malformed anyway.
 * `highRiskPaths`, when the caller read them already, saves the git process.
 */
export async function repoPolicyInputs(
  repo: string,
  o: { baseTree: string; tree: string | undefined; patch: string; signal?: AbortSignal; highRiskPaths?: HighRiskPath[] },
): Promise<Pick<PatchPolicyOptions, 'highRiskPaths' | 'packageJson'>> {
  const highRiskPaths = o.highRiskPaths ?? (await hooksPathRisksOf(repo, o.signal));
  if (o.tree === undefined) return { highRiskPaths };
  let paths: string[];
  try {
    paths = patchFiles(parsePatch(o.patch)).filter((p) => PACKAGE_JSON_RE.test(p));
  } catch {
    return { highRiskPaths };
  }
  if (paths.length === 0) return { highRiskPaths };
  const [before, after] = await Promise.all([readBlobsAt(repo, o.baseTree, paths, { signal: o.signal }), readBlobsAt(repo, o.tree, paths, { signal: o.signal })]);
  const packageJson = new Map(paths.map((p, i) => [p, { before: before[i], after: after[i] }]));
  return { highRiskPaths, packageJson };
}
