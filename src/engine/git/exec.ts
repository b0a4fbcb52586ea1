import { spawn } from 'node:child_process';
import { EngineError } from '../errors';

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
 * Runs git directly with spawn: every git call of the engine goes through here (plumbing:
 * merge-tree, update-ref, apply --cached on private indexes). simple-git was dropped: it
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
export function gitRaw(args: string[], opts: GitOptions): Promise<{ stdout: Buffer; stderr: string; code: number }> {
  const fullArgs = ['-c', 'core.protectNTFS=true', '-c', 'core.protectHFS=true', '-c', 'core.quotePath=false', ...args];
  return new Promise((resolve, reject) => {
    const child = spawn('git', fullArgs, {
      cwd: opts.cwd,
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat', LC_ALL: 'C', ...opts.env },
      signal: opts.signal,
      timeout: opts.timeoutMs,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      if ((e as { name?: string }).name === 'AbortError') reject(new EngineError('cancelled', 'git was cancelled', { cause: e }));
      else reject(new EngineError('git/spawn', `could not run git: ${e.message}`, { cause: e }));
    });
    child.on('close', (code) => {
      const res = { stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'), code: code ?? -1 };
      if (res.code !== 0 && opts.check !== false) {
        reject(new EngineError('git/failed', `git ${args[0]} failed: ${res.stderr.trim().split('\n')[0] || `exit ${res.code}`}`, { details: { args, stderr: res.stderr } }));
      } else resolve(res);
    });
    child.stdin.on('error', () => {});
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
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
