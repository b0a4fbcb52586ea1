import { EngineError } from '../errors';
import { compileGlobs } from './glob';
import { compileHighRisk, lifecycleKeysInHunk, lifecycleScriptChanges, LIFECYCLE_SCRIPTS, type HighRiskPath } from './highRisk';
import { parsePatch, patchFiles, type FilePatch } from './patch';

/**
 * What a change request may touch. Checked twice: on the patch text before it is queued
 * (`checkPatchPolicy`) and on the tree entries that would actually land
 * (`checkTreeEntries` in treePolicy.ts), so a patch that git reads differently from our
 * parser still cannot slip a forbidden entry in.
 */

/**
 * Files that steer builds, CI, hooks, editors, secrets or dependency resolution. The user's
 * `protectedPaths` replaces this list; the always-on high-risk lists of highRisk.ts do not
 * depend on it.
 */
export const DEFAULT_PROTECTED_PATHS: string[] = [
  '.env',
  '.env.*',
  '**/.env',
  '**/.env.*',
  '.npmrc',
  '**/.npmrc',
  '.yarnrc',
  '.yarnrc.yml',
  '.pypirc',
  '.vscode/**',
  '.devcontainer/**',
  '.github/workflows/**',
  '.github/actions/**',
  '.gitlab-ci.yml',
  '.gitlab/**',
  '.circleci/**',
  'azure-pipelines.yml',
  'Jenkinsfile',
  '.travis.yml',
  'bitbucket-pipelines.yml',
  '.buildkite/**',
  '.drone.yml',
  'appveyor.yml',
  '.pre-commit-config.yaml',
  '.gitattributes',
  '**/.gitattributes',
  '.gitmodules',
  '.gitignore',
  '.husky/**',
  '.githooks/**',
  'package-lock.json',
  '**/package-lock.json',
  'npm-shrinkwrap.json',
  '**/npm-shrinkwrap.json',
  'yarn.lock',
  '**/yarn.lock',
  'pnpm-lock.yaml',
  '**/pnpm-lock.yaml',
  'bun.lockb',
  'bun.lock',
  'Cargo.lock',
  '**/Cargo.lock',
  'poetry.lock',
  '**/poetry.lock',
  'Pipfile.lock',
  'uv.lock',
  'Gemfile.lock',
  '**/Gemfile.lock',
  'go.sum',
  '**/go.sum',
  'composer.lock',
  '**/composer.lock',
];

export type PolicyRule =
  | 'absolute-path'
  | 'path-escape'
  | 'git-dir'
  | 'symlink'
  | 'gitlink'
  | 'binary'
  | 'exec-mode'
  | 'size-limit'
  | 'protected-path'
  | 'control-char'
  | 'backslash'
  | 'path-too-long'
  | 'auto-run'
  | 'hyperion-config';

/** The file system's limits (Linux NAME_MAX and PATH_MAX; macOS and Windows allow less). */
export const MAX_COMPONENT_BYTES = 255;
export const MAX_PATH_BYTES = 4095;

/** What the policy reads besides the patch. Everything is optional; the defaults are the safe ones. */
export interface PatchPolicyOptions {
  /** Globs that need an explicit approval; replaces `DEFAULT_PROTECTED_PATHS` when given. */
  protectedPaths?: string[];
  maxPatchBytes?: number;
  /**
   * High-risk paths found in the repository (the folder `core.hooksPath` names, see
   * `hooksPathRisks`), checked on top of the always-on lists.
   */
  highRiskPaths?: readonly HighRiskPath[];
  /**
   * Contents of touched package.json files before and after the change, by path, where the
   * caller has the trees; lifecycle scripts are then compared exactly instead of read from
   * the patch lines.
   */
  packageJson?: ReadonlyMap<string, { before: string | undefined; after: string | undefined }>;
}

/** How a path is matched against the protected and high-risk lists; compile once per check. */
export interface Protection {
  protectedGlob: (path: string) => string | undefined;
  highRisk: (path: string) => HighRiskPath | undefined;
}

/** Compiled protections by their lists: a run checks every change against the same few. */
const protections = new Map<string, Protection>();
const PROTECTIONS_MAX = 64;

/** The matchers for these lists, compiled on first use and reused (they are pure functions of the lists). */
export function compileProtection(opts: Pick<PatchPolicyOptions, 'protectedPaths' | 'highRiskPaths'> = {}): Protection {
  const key = JSON.stringify([opts.protectedPaths ?? null, (opts.highRiskPaths ?? []).map((h) => [h.glob, h.rule, h.reason])]);
  const hit = protections.get(key);
  if (hit) return hit;
  const compiled = { protectedGlob: compileGlobs(opts.protectedPaths ?? DEFAULT_PROTECTED_PATHS), highRisk: compileHighRisk(opts.highRiskPaths) };
  if (protections.size >= PROTECTIONS_MAX) protections.delete(protections.keys().next().value!);
  protections.set(key, compiled);
  compilations++;
  return compiled;
}

let compilations = 0;

/** How many times protections were compiled in this process (tests check the cache). */
export function protectionCompilations(): number {
  return compilations;
}

export interface PolicyViolation {
  rule: PolicyRule;
  path?: string;
  /** One sentence naming the rule and the path. */
  message: string;
  severity: 'block' | 'needs-approval';
}

export interface PolicyReport {
  /** Every path the patch touches (old and new names). */
  files: string[];
  violations: PolicyViolation[];
  /** True when any violation has severity 'block'. */
  blocked: boolean;
  /** True when any violation needs an explicit approval, even under automatic approvals. */
  needsExplicitApproval: boolean;
}

export const DEFAULT_MAX_PATCH_BYTES = 1_000_000;

/**
 * HFS+ ignores these code points when comparing names, so `.g\u200cit` is `.git` there
 * (git's own list from utf8.c, plus a few more invisible ones for good measure).
 */
const IGNORABLE_RE = /[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u206a-\u206f\ufeff]/gu;

/**
 * True when a single path component would name the repository's `.git` on some
 * filesystem: any case (`.GIT`), NTFS trailing dots and spaces (`.git.`, `.git `), NTFS
 * alternate streams (`.git::$INDEX_ALLOCATION`), the 8.3 short name (`git~1`, any digit),
 * and HFS+ ignorable code points anywhere inside (`.g\u200cit`).
 */
export function isGitLikeComponent(name: string): boolean {
  let n = name.replace(IGNORABLE_RE, '').toLowerCase();
  const colon = n.indexOf(':');
  if (colon >= 0) n = n.slice(0, colon);
  n = n.replace(/[. ]+$/u, '');
  return n === '.git' || /^git~\d+$/u.test(n);
}

/**
 * How Windows and macOS would spell the path on disk: invisible code points gone and
 * trailing dots and spaces of each component dropped, so `.env.` or `.e\u200dnv` still
 * counts as `.env` for the protected list (case is already ignored by the matcher).
 */
function filesystemSpelling(path: string): string {
  return path
    .split('/')
    .map((c) => {
      const t = c.replace(IGNORABLE_RE, '').replace(/[. ]+$/u, '');
      return t === '' ? c : t;
    })
    .join('/');
}

// C0, DEL, C1, line/paragraph separators, and the bidirectional overrides that make one path display as another.
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

function violation(rule: PolicyRule, path: string | undefined, message: string, severity: 'block' | 'needs-approval' = 'block'): PolicyViolation {
  return path === undefined ? { rule, message, severity } : { rule, path, message, severity };
}

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/**
 * The rules that depend only on a path's spelling. Shared by the patch and tree checks.
 * A path that breaks a structural rule (absolute, escape, control, backslash, too long) is
 * not also reported as protected: one clear reason is enough. Of the approval rules, the
 * first that applies is reported: Hyperion's config, then auto-run files, then the
 * protected list.
 */
export function pathViolations(path: string, protection: Protection): PolicyViolation[] {
  const out: PolicyViolation[] = [];
  const bytes = byteLength(path);
  const long = path.split('/').find((c) => byteLength(c) > MAX_COMPONENT_BYTES);
  if (bytes > MAX_PATH_BYTES || long !== undefined) {
    // Shown shortened: an 18,000-character name in a sentence helps nobody.
    const shown = JSON.stringify(path.length > 80 ? `${path.slice(0, 60)}…${path.slice(-15)}` : path);
    const why =
      bytes > MAX_PATH_BYTES
        ? `is ${bytes} bytes long, over the file system's limit of ${MAX_PATH_BYTES}`
        : `has a ${byteLength(long!)}-byte name component, over the file system's limit of ${MAX_COMPONENT_BYTES} bytes`;
    out.push(violation('path-too-long', path, `path-too-long: the path ${shown} ${why}; it could not be written to disk.`));
    return out;
  }
  const shown = JSON.stringify(path);
  if (CONTROL_RE.test(path)) out.push(violation('control-char', path, `control-char: the path ${shown} contains a control or bidirectional-override character.`));
  if (path.includes('\\')) out.push(violation('backslash', path, `backslash: the path ${shown} contains a backslash, which Windows reads as a directory separator.`));
  if (path.startsWith('/') || /^[A-Za-z]:/u.test(path)) {
    out.push(violation('absolute-path', path, `absolute-path: the path ${shown} is absolute, not relative to the repository.`));
  }
  const parts = path.split('/');
  if (parts.some((p, i) => p === '..' || p === '.' || (p === '' && !(i === 0 && path.startsWith('/'))))) {
    out.push(violation('path-escape', path, `path-escape: the path ${shown} has an empty, "." or ".." component that can leave the repository.`));
  }
  if (parts.some(isGitLikeComponent)) out.push(violation('git-dir', path, `git-dir: the path ${shown} reaches into a .git directory.`));
  if (out.length > 0) return out;
  const spelled = filesystemSpelling(path);
  const risk = protection.highRisk(path) ?? protection.highRisk(spelled);
  if (risk !== undefined) {
    out.push(violation(risk.rule, path, `${risk.rule}: the path ${shown} ${risk.reason}; it needs an explicit approval.`, 'needs-approval'));
    return out;
  }
  const glob = protection.protectedGlob(path) ?? protection.protectedGlob(spelled);
  if (glob !== undefined) {
    out.push(violation('protected-path', path, `protected-path: the path ${shown} matches the protected pattern ${JSON.stringify(glob)} and needs an explicit approval.`, 'needs-approval'));
  }
  return out;
}

function fileViolations(f: FilePatch): PolicyViolation[] {
  const out: PolicyViolation[] = [];
  const path = f.newPath ?? f.oldPath ?? undefined;
  const shown = JSON.stringify(path);
  if (f.isSymlink) out.push(violation('symlink', path, `symlink: the patch creates, changes or deletes the symbolic link ${shown}.`));
  if (f.isGitlink) out.push(violation('gitlink', path, `gitlink: the patch touches the submodule entry ${shown}.`));
  if (f.isBinary) out.push(violation('binary', path, `binary: the patch carries binary content for ${shown}.`));
  if (!f.isSymlink && !f.isGitlink && f.newMode !== undefined && f.status !== 'delete') {
    // A renamed or copied executable is a new executable path, so it counts as a change.
    const changed = f.status === 'add' || f.status === 'copy' || f.status === 'rename' || (f.oldMode !== undefined && f.oldMode !== f.newMode);
    if (changed && f.newMode !== '100644') {
      out.push(violation('exec-mode', path, `exec-mode: the patch gives ${shown} the file mode ${f.newMode}; only 100644 is allowed for new or changed modes.`));
    }
  }
  return out;
}

function isPackageJson(path: string): boolean {
  const last = filesystemSpelling(path).split('/').pop() ?? '';
  return last.toLowerCase() === 'package.json';
}

/** Lifecycle scripts of a package.json that the patch changes, compared exactly when the contents are given. */
function lifecycleViolations(f: FilePatch, opts: PatchPolicyOptions): PolicyViolation[] {
  const path = f.newPath ?? f.oldPath;
  if (path === null || !isPackageJson(path)) return [];
  const given = opts.packageJson?.get(path);
  let keys = given ? lifecycleScriptChanges(given.before, given.after) : null;
  if (keys === null) {
    const found = new Set<string>();
    for (const h of f.hunks) for (const k of lifecycleKeysInHunk(h.lines)) found.add(k);
    keys = [...found];
  }
  if (keys.length === 0) return [];
  const shown = JSON.stringify(path);
  const named = keys.filter((k) => k !== 'scripts');
  const what =
    named.length > 0
      ? `the ${named.map((k) => JSON.stringify(k)).join(', ')} script${named.length > 1 ? 's' : ''} of ${shown}`
      : `the scripts of ${shown} next to a lifecycle script (${LIFECYCLE_SCRIPTS.join(', ')})`;
  return [violation('auto-run', path, `auto-run: the patch changes ${what}, which runs on your next npm install; it needs an explicit approval.`, 'needs-approval')];
}

/**
 * Checks a patch against the policy. The size limit comes first, before any parsing: a
 * patch over it is reported with `size-limit` alone (its files are not read). Throws what
 * `parsePatch` throws (`patch/empty`, `patch/malformed`) when the text is not a readable
 * patch; otherwise returns a report listing every violation (a path breaking several rules
 * is reported under each).
 */
export function checkPatchPolicy(patchText: string, opts: PatchPolicyOptions = {}): PolicyReport {
  const maxBytes = opts.maxPatchBytes ?? DEFAULT_MAX_PATCH_BYTES;
  const bytes = Buffer.byteLength(patchText, 'utf8');
  if (bytes > maxBytes) {
    return summarize([], [violation('size-limit', undefined, `size-limit: the patch is ${bytes} bytes, over the limit of ${maxBytes} bytes (maxPatchBytes).`)]);
  }
  const protection = compileProtection(opts);
  const violations: PolicyViolation[] = [];
  const parsed = parsePatch(patchText);
  const files = patchFiles(parsed);
  for (const p of files) for (const v of pathViolations(p, protection)) violations.push(v);
  for (const f of parsed.files) {
    for (const v of fileViolations(f)) violations.push(v);
    // A package.json already held for approval by its path needs no second reason.
    if (!violations.some((v) => v.path === (f.newPath ?? f.oldPath) && v.severity === 'needs-approval')) {
      for (const v of lifecycleViolations(f, opts)) violations.push(v);
    }
  }
  return summarize(files, violations);
}

export function summarize(files: string[], violations: PolicyViolation[]): PolicyReport {
  return {
    files,
    violations,
    blocked: violations.some((v) => v.severity === 'block'),
    needsExplicitApproval: violations.some((v) => v.severity === 'needs-approval'),
  };
}

/**
 * The error for a report: `policy/<rule>` of the first blocking violation, else of the
 * first violation (a protected path), else `policy/none` (the caller asked for an error
 * about a clean report, which is its bug, but the value is still well formed).
 */
export function policyError(report: PolicyReport): EngineError {
  const v = report.violations.find((x) => x.severity === 'block') ?? report.violations[0];
  if (!v) return new EngineError('policy/none', 'The patch breaks no policy rule.');
  return new EngineError(`policy/${v.rule}`, v.message, { details: { rule: v.rule, path: v.path, severity: v.severity } });
}
