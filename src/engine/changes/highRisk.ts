import { compileGlobs } from './glob';

/**
 * Files whose change does more than change code: a tool runs them, or Hyperion obeys them, on
 * the user's NEXT action (a commit, `npm install`, opening the folder, the next run). A patch
 * that touches one always needs an explicit approval, even under approve-all, and the
 * violation says why. Unlike `DEFAULT_PROTECTED_PATHS`, these lists are not replaced by the
 * user's `protectedPaths`: a repository's own config must not be able to switch them off.
 *
 * Left out on purpose: files that only run when the user deliberately runs them (a Makefile,
 * test files, `.vscode/launch.json`), and CI definitions, which run on a push rather than on
 * the user's machine (they stay in the replaceable protected list).
 */

export type HighRiskRule = 'hyperion-config' | 'auto-run';

export interface HighRiskPath {
  glob: string;
  rule: HighRiskRule;
  /** Completes "the path X …": what runs or what obeys it, and when. */
  reason: string;
}

const ON_COMMIT = 'runs on your next commit';

/** Hyperion's own configuration: the CLI reads `.hyperion.json`, the extension reads VS Code settings. */
export const HYPERION_CONFIG_PATHS: readonly HighRiskPath[] = [
  { glob: '.hyperion.json', rule: 'hyperion-config', reason: "is Hyperion's own configuration, which the next run obeys" },
  // Any `.hyperion*` file at any depth: a run started from a subfolder, or a variant a later version reads.
  { glob: '**/.hyperion*', rule: 'hyperion-config', reason: 'is a Hyperion configuration file, which a run from that folder obeys' },
  { glob: '**/.vscode/settings.json', rule: 'hyperion-config', reason: "holds Hyperion's VS Code settings (and settings that name programs other extensions run)" },
  { glob: '**/*.code-workspace', rule: 'hyperion-config', reason: "holds workspace settings, Hyperion's included" },
];

/** Files a tool runs, or takes a program to run from, on the user's next action. */
export const AUTO_RUN_PATHS: readonly HighRiskPath[] = [
  { glob: '.husky/**', rule: 'auto-run', reason: `is a husky git hook that ${ON_COMMIT}` },
  ...['lefthook', '.lefthook', 'lefthook-local', '.lefthook-local'].flatMap((n) =>
    ['yml', 'yaml', 'json', 'toml'].map((ext) => ({ glob: `${n}.${ext}`, rule: 'auto-run' as const, reason: `is lefthook configuration that ${ON_COMMIT}` })),
  ),
  { glob: '.lefthook/**', rule: 'auto-run', reason: `is a lefthook script that ${ON_COMMIT}` },
  { glob: '.pre-commit-config.yaml', rule: 'auto-run', reason: `is pre-commit configuration that ${ON_COMMIT}` },
  { glob: '**/.envrc', rule: 'auto-run', reason: 'runs when your shell enters the folder (direnv)' },
  { glob: '**/.vscode/tasks.json', rule: 'auto-run', reason: 'can run a task as soon as the folder is opened (runOn: folderOpen)' },
  { glob: '.devcontainer/**', rule: 'auto-run', reason: 'runs when the folder is opened in a dev container (postCreateCommand and friends)' },
  { glob: '.devcontainer.json', rule: 'auto-run', reason: 'runs when the folder is opened in a dev container (postCreateCommand and friends)' },
  { glob: '**/.yarnrc.yml', rule: 'auto-run', reason: 'can point yarnPath at a script that runs on your next yarn command' },
  { glob: '**/.yarnrc', rule: 'auto-run', reason: 'can point yarn-path at a script that runs on your next yarn command' },
];

/**
 * package.json scripts that npm (and yarn, pnpm) run by themselves on `npm install` in this
 * folder, as opposed to scripts the user starts by name.
 */
export const LIFECYCLE_SCRIPTS: readonly string[] = ['preinstall', 'install', 'postinstall', 'prepublish', 'preprepare', 'prepare', 'postprepare', 'dependencies'];

/**
 * The high-risk paths that `git config core.hooksPath` adds: git runs every file in that
 * folder as a hook, exactly like `.git/hooks`. `hooksPath` is the value git resolved
 * (`git config --type=path`), `repoRoot` the absolute work tree root with `/` separators.
 * A relative value is relative to the root (hooks run there); a folder outside the
 * repository cannot be written by a patch and adds nothing.
 */
export function hooksPathRisks(hooksPath: string | undefined, repoRoot: string): HighRiskPath[] {
  if (hooksPath === undefined || hooksPath.trim() === '') return [];
  const root = repoRoot.replace(/\\/g, '/').replace(/\/+$/, '');
  let rel = hooksPath.replace(/\\/g, '/');
  if (rel.startsWith('/') || /^[A-Za-z]:\//.test(rel)) {
    if (!rel.toLowerCase().startsWith(`${root.toLowerCase()}/`)) return [];
    rel = rel.slice(root.length + 1);
  }
  const parts: string[] = [];
  for (const p of rel.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (parts.length === 0) return []; // leaves the repository
      parts.pop();
    } else parts.push(p);
  }
  if (parts[0]?.toLowerCase() === '.git') return []; // git's default; the git-dir rule blocks it already
  if (parts.length === 0) return [{ glob: '*', rule: 'auto-run', reason: `is a git hook in core.hooksPath (the repository root) that ${ON_COMMIT}` }];
  const dir = parts.join('/');
  // `*` and `?` are the matcher's only metacharacters; as `?` they still match the folder (and barely more).
  return [{ glob: `${dir.replace(/[*?]/g, '?')}/**`, rule: 'auto-run', reason: `is a git hook in core.hooksPath (${dir}) that ${ON_COMMIT}` }];
}

/** The first always-on high-risk entry a path matches, Hyperion's config first. */
export function compileHighRisk(extra: readonly HighRiskPath[] = []): (path: string) => HighRiskPath | undefined {
  const all = [...HYPERION_CONFIG_PATHS, ...AUTO_RUN_PATHS, ...extra];
  const match = compileGlobs(all.map((h) => h.glob));
  return (path) => {
    const g = match(path);
    return g === undefined ? undefined : all.find((h) => h.glob === g);
  };
}

const LIFECYCLE_SET = new Set(LIFECYCLE_SCRIPTS);

function scriptsOf(text: string | undefined): Record<string, unknown> | undefined | null {
  if (text === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    const s = v !== null && typeof v === 'object' ? (v as { scripts?: unknown }).scripts : undefined;
    return s !== null && typeof s === 'object' && !Array.isArray(s) ? (s as Record<string, unknown>) : undefined;
  } catch {
    return null;
  }
}

/**
 * The lifecycle scripts whose command differs between two versions of a package.json
 * (undefined: the file does not exist on that side). Returns null when either side is not
 * JSON, so the caller falls back to reading the patch lines.
 */
export function lifecycleScriptChanges(before: string | undefined, after: string | undefined): string[] | null {
  const a = scriptsOf(before);
  const b = scriptsOf(after);
  if (a === null || b === null) return null;
  return LIFECYCLE_SCRIPTS.filter((k) => JSON.stringify(a?.[k]) !== JSON.stringify(b?.[k]));
}

const JSON_STRING_RE = /"(?:[^"\\]|\\.)*"/g;

function decodedStrings(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(JSON_STRING_RE)) {
    try {
      out.push(JSON.parse(m[0]) as string);
    } catch {
      out.push(m[0].slice(1, -1));
    }
  }
  return out;
}

/**
 * The lifecycle scripts a package.json hunk may change, read from the patch lines alone (used
 * when the file contents are not at hand). Conservative: a changed line naming a lifecycle
 * key or `scripts` (escapes decoded, so `"post\u0069nstall"` counts), or a changed value
 * line with no key of its own in a hunk that names one, is reported. A key more than the
 * hunk's context away from its value is missed; callers with the trees use
 * `lifecycleScriptChanges` instead.
 */
export function lifecycleKeysInHunk(lines: readonly string[]): string[] {
  const named = new Set<string>();
  let anyKeyInHunk = false;
  let bareValueChanged = false;
  for (const l of lines) {
    const c = l[0];
    const strings = decodedStrings(l.slice(1));
    const keys = strings.filter((s) => LIFECYCLE_SET.has(s) || s === 'scripts');
    if (keys.length > 0) anyKeyInHunk = true;
    if (c !== '+' && c !== '-') continue;
    for (const k of keys) named.add(k === 'scripts' ? 'scripts' : k);
    if (/^\s*"(?:[^"\\]|\\.)*"\s*,?\s*$/.test(l.slice(1))) bareValueChanged = true;
  }
  if (bareValueChanged && anyKeyInHunk && named.size === 0) named.add('scripts');
  return [...named];
}
