import { assertNever, EngineError } from '../errors';
import { compileGlobs } from './glob';
import { parsePatch, patchFiles, type FilePatch } from './patch';

/**
 * What a change request may touch. Checked twice: on the patch text before it is queued
 * (`checkPatchPolicy`) and on the tree entries that would actually land
 * (`checkTreeEntries` in treePolicy.ts), so a patch that git reads differently from our
 * parser still cannot slip a forbidden entry in.
 */

/** Files that steer builds, CI, hooks, editors, secrets or dependency resolution. */
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
  | 'backslash';

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

/**
 * The rules that depend only on a path's spelling. Shared by the patch and tree checks.
 * A path that breaks a structural rule (absolute, escape, control, backslash) is not
 * also reported as protected: one clear reason is enough.
 */
export function pathViolations(path: string, protectedGlob: (path: string) => string | undefined): PolicyViolation[] {
  const out: PolicyViolation[] = [];
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
  if (out.length === 0) {
    const glob = protectedGlob(path) ?? protectedGlob(filesystemSpelling(path));
    if (glob !== undefined) {
      out.push(violation('protected-path', path, `protected-path: the path ${shown} matches the protected pattern ${JSON.stringify(glob)} and needs an explicit approval.`, 'needs-approval'));
    }
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

/**
 * Checks a patch against the policy. Throws what `parsePatch` throws (`patch/empty`,
 * `patch/malformed`) when the text is not a readable patch; otherwise returns a report
 * listing every violation (a path breaking several rules is reported under each).
 */
export function checkPatchPolicy(patchText: string, opts: { protectedPaths?: string[]; maxPatchBytes?: number } = {}): PolicyReport {
  const protectedGlob = compileGlobs(opts.protectedPaths ?? DEFAULT_PROTECTED_PATHS);
  const maxBytes = opts.maxPatchBytes ?? DEFAULT_MAX_PATCH_BYTES;
  const violations: PolicyViolation[] = [];
  const bytes = Buffer.byteLength(patchText, 'utf8');
  if (bytes > maxBytes) violations.push(violation('size-limit', undefined, `size-limit: the patch is ${bytes} bytes, over the limit of ${maxBytes} bytes.`));
  const parsed = parsePatch(patchText);
  const files = patchFiles(parsed);
  for (const p of files) violations.push(...pathViolations(p, protectedGlob));
  for (const f of parsed.files) violations.push(...fileViolations(f));
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

/** A short human label per rule, for UIs that group violations. */
export function ruleLabel(rule: PolicyRule): string {
  switch (rule) {
    case 'absolute-path':
      return 'absolute path';
    case 'path-escape':
      return 'path outside the repository';
    case 'git-dir':
      return '.git directory';
    case 'symlink':
      return 'symbolic link';
    case 'gitlink':
      return 'submodule';
    case 'binary':
      return 'binary content';
    case 'exec-mode':
      return 'file mode';
    case 'size-limit':
      return 'patch too large';
    case 'protected-path':
      return 'protected file';
    case 'control-char':
      return 'control character in path';
    case 'backslash':
      return 'backslash in path';
    default:
      return assertNever(rule, 'policy rule');
  }
}
