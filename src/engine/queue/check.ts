import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { git } from '../git/exec';
import { BoundedOutput, checkFailureReason, failingLines } from './checkOutput';

/** A check's verdict and what it printed (bounded, see checkOutput.ts). */
export interface CheckResult {
  ok: boolean;
  /** One line for the entry's last_error when not ok: the first failing lines of the output. */
  reason?: string;
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  output: string;
  truncated: boolean;
  failingLines: string[];
}

/**
 * Runs `command` (through the shell) in a throwaway detached worktree of `commit`, so the
 * user's checkout is never used. The worktree is removed afterwards whatever happens.
 * A command that outlives `timeoutMs` is killed with its whole process group.
 *
 * When `repo` has a `node_modules/` and the candidate does not (it is untracked, so a fresh
 * worktree never has one), the candidate gets a symlink to it: `npm test` in a real JS project
 * needs its dependencies, and installing them per candidate would take minutes. The check is
 * expected to only read them. The link (never its target) is removed with the worktree.
 */
export async function runCheck(repo: string, commit: string, command: string, timeoutMs: number, signal?: AbortSignal): Promise<CheckResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-check-'));
  const started = Date.now();
  let link: string | undefined;
  try {
    await git(['worktree', 'add', '--detach', '--force', dir, commit], { cwd: repo, signal });
    link = linkDependencies(repo, dir);
    return await runShell(command, dir, timeoutMs, started, signal);
  } finally {
    // Unlink first so nothing below can ever descend into the shared node_modules.
    if (link) fs.rmSync(link, { force: true });
    await git(['worktree', 'remove', '--force', dir], { cwd: repo, check: false });
    fs.rmSync(dir, { recursive: true, force: true });
    await git(['worktree', 'prune'], { cwd: repo, check: false });
  }
}

/** Symlinks repo/node_modules into the candidate when it has none; returns the link's path. */
function linkDependencies(repo: string, dir: string): string | undefined {
  const source = path.join(repo, 'node_modules');
  const target = path.join(dir, 'node_modules');
  try {
    if (!fs.statSync(source).isDirectory()) return undefined;
  } catch {
    return undefined;
  }
  if (fs.existsSync(target) || isSymlink(target)) return undefined;
  fs.symlinkSync(source, target, 'dir');
  return target;
}

function isSymlink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

function runShell(command: string, cwd: string, timeoutMs: number, started: number, signal?: AbortSignal): Promise<CheckResult> {
  return new Promise((resolve) => {
    const child = spawn(command, { cwd, shell: true, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = new BoundedOutput();
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => out.push(b));
    let timedOut = false;
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    const onAbort = () => killGroup();
    signal?.addEventListener('abort', onAbort, { once: true });
    let settled = false;
    const finish = (code: number | null, err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      const durationMs = Date.now() - started;
      const { output, truncated } = out.text();
      const exitCode = timedOut || err ? null : code;
      const ok = !timedOut && !err && code === 0;
      const failing = ok ? [] : failingLines(output, exitCode, timedOut);
      const reason = ok ? undefined : checkFailureReason({ exitCode, timedOut, timeoutMs, startError: err?.message, failing });
      resolve({ ok, reason, exitCode, timedOut, durationMs, output, truncated, failingLines: failing });
    };
    child.on('error', (e) => finish(null, e));
    child.on('close', (code) => finish(code));
  });
}
