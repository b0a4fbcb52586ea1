import { EngineError } from '../errors';
import { runProcess } from './spawnBroker';

export interface GitResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface GitOptions {
  cwd: string;
  /** Extra environment (merged over process.env), e.g. GIT_INDEX_FILE for a private index. */
  env?: Record<string, string>;
  input?: string | Buffer;
  signal?: AbortSignal;
  /** When false, a non-zero exit is returned instead of thrown. Default true. */
  check?: boolean;
  timeoutMs?: number;
}

/**
 * Runs git as a process of its own (started by the helper of spawnBroker.ts): every git call
 * of the engine goes through here (plumbing: merge-tree, update-ref, apply --cached on
 * private indexes), except the long-lived blob reader of catFile.ts. simple-git was dropped: it
 * sleeps ~50 ms after silent commands and filters GIT_* variables (GIT_INDEX_FILE,
 * GIT_LITERAL_PATHSPECS) that the queue relies on, and no porcelain is left to wrap.
 *
 * Every call disables hooks-free surprises: no pager, no terminal prompts, and the
 * NTFS/HFS path protections on, so a hostile path can never be checked out or applied.
 */
export async function git(args: string[], opts: GitOptions): Promise<GitResult> {
  const r = await gitRaw(args, opts);
  return { stdout: r.stdout.toString('utf8'), stderr: r.stderr, code: r.code };
}

/**
 * `git` with stdout as bytes, for output framed by byte counts (`cat-file --batch`), where
 * decoding as UTF-8 first would shift the frames. Same settings and errors as `git`.
 */
export async function gitRaw(args: string[], opts: GitOptions): Promise<{ stdout: Buffer; stderr: string; code: number }> {
  const fullArgs = ['-c', 'core.protectNTFS=true', '-c', 'core.protectHFS=true', '-c', 'core.quotePath=false', ...args];
  // Started from a small helper process (spawnBroker.ts): a fork of this big process blocks its event loop.
  const o = await runProcess({
    cmd: 'git',
    args: fullArgs,
    cwd: opts.cwd,
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat', LC_ALL: 'C', ...opts.env },
    input: opts.input,
    signal: opts.signal,
    timeoutMs: opts.timeoutMs,
  });
  if (o.kind === 'aborted') throw new EngineError('cancelled', 'git was cancelled');
  if (o.kind === 'spawn-failed') throw new EngineError('git/spawn', `could not run git: ${o.message}`);
  const res = { stdout: o.stdout, stderr: o.stderr.toString('utf8'), code: o.code };
  if (res.code !== 0 && opts.check !== false) {
    throw new EngineError('git/failed', `git ${args[0]} failed: ${res.stderr.trim().split('\n')[0] || `exit ${res.code}`}`, { details: { args, stderr: res.stderr } });
  }
  return res;
}

/** `git rev-parse --git-common-dir`, absolute. Shared by all worktrees of a repository. */
export async function gitCommonDir(repo: string): Promise<string> {
  const r = await git(['rev-parse', '--path-format=absolute', '--git-common-dir'], { cwd: repo });
  return r.stdout.trim();
}

export async function revParse(repo: string, rev: string): Promise<string> {
  const r = await git(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], { cwd: repo, check: false });
  if (r.code !== 0) throw new EngineError('git/unknown-rev', `"${rev}" is not a commit in ${repo}`);
  return r.stdout.trim();
}
