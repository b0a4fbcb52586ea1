import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EngineError } from '../errors';
import { git } from './exec';
import { isIgnored, parseIgnoreRules, type IgnoreRule } from './ignoreRules';

/**
 * Which of `paths` (new files, not in the base tree) git would leave out of `git add -A`
 * because an ignore rule matches them, decided by git itself without a checkout: the
 * `.gitignore` files of the tree the paths would land in (`gitignoreAt`, for each folder along
 * the paths) are written to a scratch folder that serves as the work tree of one
 * `git check-ignore --no-index`, whose git folder (its `info/exclude`, `core.excludesFile`)
 * is the repository's. When every rule is in the plain subset of ignoreRules.ts (the usual
 * `node_modules/`, `*.log`, `/dist`), it is decided here without the process.
 */
interface IgnoreContext {
  gitDir: string;
  /** info/exclude and core.excludesFile (or git's default for it), read afresh on each call. */
  files: string[];
  ignoreCase: boolean;
}

const contexts = new Map<string, Promise<IgnoreContext>>();

function contextOf(repo: string, signal?: AbortSignal): Promise<IgnoreContext> {
  let p = contexts.get(repo);
  if (!p) {
    p = (async () => {
      const [dirs, cfg] = await Promise.all([
        git(['rev-parse', '--path-format=absolute', '--absolute-git-dir', '--git-path', 'info/exclude'], { cwd: repo, signal }),
        git(['config', '-z', '--type=path', '--get-regexp', '^core\\.(ignorecase|excludesfile)$'], { cwd: repo, signal, check: false }),
      ]);
      const [gitDir, exclude] = dirs.stdout.trim().split('\n');
      const conf = new Map(cfg.stdout.split('\0').filter(Boolean).map((rec) => {
        const nl = rec.indexOf('\n');
        return [rec.slice(0, nl < 0 ? rec.length : nl).toLowerCase(), nl < 0 ? 'true' : rec.slice(nl + 1)] as const;
      }));
      const home = process.env.HOME ?? '';
      const excludesFile = conf.get('core.excludesfile') ?? path.join(process.env.XDG_CONFIG_HOME || path.join(home, '.config'), 'git', 'ignore');
      return { gitDir: gitDir!, files: [exclude!, excludesFile], ignoreCase: /^(true|yes|on|1)$/i.test(conf.get('core.ignorecase') ?? '') };
    })();
    p.catch(() => contexts.delete(repo));
    contexts.set(repo, p);
  }
  return p;
}

/** Decides in this process when every rule is plain; undefined when git must. */
async function inProcess(ctx: IgnoreContext, ignores: ReadonlyArray<{ d: string; text: string | undefined }>, paths: readonly string[]): Promise<Set<string> | undefined> {
  const texts = await Promise.all(ctx.files.map((f) => readFile(f, 'utf8').catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' || e.code === 'ENOTDIR' ? '' : undefined))));
  const rules: IgnoreRule[] = [];
  for (const [text, base] of [...texts.map((t) => [t, ''] as const), ...ignores.map((g) => [g.text ?? '', g.d] as const)]) {
    const r = text === undefined ? undefined : parseIgnoreRules(text, base, ctx.ignoreCase);
    if (!r) return undefined;
    rules.push(...r);
  }
  return new Set(paths.filter((p) => isIgnored(rules, p)));
}

export async function ignoredPaths(repo: string, paths: readonly string[], gitignoreAt: (dir: string) => Promise<string | undefined>, signal?: AbortSignal, opts: { askGit?: boolean } = {}): Promise<Set<string>> {
  if (paths.length === 0) return new Set();
  const dirs = new Set<string>(['']);
  for (const p of paths) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  const [ctx, ignores] = await Promise.all([contextOf(repo, signal), Promise.all([...dirs].map(async (d) => ({ d, text: await gitignoreAt(d) })))]);
  const decided = opts.askGit ? undefined : await inProcess(ctx, ignores, paths);
  if (decided) {
    inProcessAnswers++;
    return decided;
  }
  const gitDir = ctx.gitDir;
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

let inProcessAnswers = 0;

/** How many times the ignore rules were decided without git (for tests). */
export function ignoreAnswersInProcess(): number {
  return inProcessAnswers;
}
