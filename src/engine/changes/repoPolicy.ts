import { git } from '../git/exec';
import { readBlobsAt } from '../git/batch';
import { hooksPathRisks, type HighRiskPath } from './highRisk';
import { parsePatch, patchFiles } from './patch';
import type { PatchPolicyOptions } from './policy';

/**
 * What the policy needs from the repository itself. The policy functions stay pure; the
 * callers that hold a repository (the scheduler, the queue) read these and pass them in.
 */

/**
 * The folder `git config core.hooksPath` names, as high-risk paths (see `hooksPathRisks`).
 * One git process: `rev-parse --git-path hooks` resolves the setting the way git itself does
 * when it runs a hook (any config scope, `~` expanded, relative to the work tree root). Read
 * fresh on every call, since the setting may change between two changes. Empty when unset
 * (the default `.git/hooks` is covered by the git-dir rule) or unreadable.
 */
export async function hooksPathRisksOf(repo: string, signal?: AbortSignal): Promise<HighRiskPath[]> {
  const r = await git(['rev-parse', '--path-format=absolute', '--show-toplevel', '--git-path', 'hooks'], { cwd: repo, check: false, signal });
  if (r.code !== 0) return [];
  const [root, hooks] = r.stdout.split('\n');
  if (!root || !hooks) return [];
  return hooksPathRisks(hooks, root);
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
