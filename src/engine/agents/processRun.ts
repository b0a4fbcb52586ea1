import { spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EngineError } from '../errors';
import type { HarnessInput } from './harness';

const MAX_TRANSCRIPT = 1_000_000;
const MAX_STDOUT = 64_000;

/** What `killGroup` uses of the platform; tests inject another. */
export interface KillPlatform {
  platform: NodeJS.Platform;
  kill: (pid: number, sig: NodeJS.Signals) => void;
  taskkill: (args: string[]) => void;
}

const realPlatform: KillPlatform = {
  platform: process.platform,
  kill: (pid, sig) => process.kill(pid, sig),
  taskkill: (args) => void spawnSync('taskkill', args, { stdio: 'ignore', windowsHide: true }),
};

/**
 * Sends `sig` to the whole process group led by `pid`; false when none of it is left. Windows
 * has no process groups: there `taskkill /pid <pid> /T /F` ends the process tree instead
 * (forcefully, whatever `sig` says; untested on a real Windows).
 */
export function killGroup(pid: number, sig: NodeJS.Signals, p: KillPlatform = realPlatform): boolean {
  try {
    if (p.platform === 'win32') {
      p.taskkill(['/pid', String(pid), '/T', '/F']);
      return true;
    }
    p.kill(-pid, sig);
    return true;
  } catch {
    return false;
  }
}

export interface AgentProcess {
  /** The harness's agent name, for messages. */
  name: string;
  /** The binary and its arguments (no shell: the prompt is one argument as it is), or with `shell`, a command line. */
  file: string;
  args: string[];
  /** Run `file` as a command line through the platform's shell (the `command` harness). */
  shell?: boolean;
  env: Record<string, string | undefined>;
  /** How to install the binary when it is missing: one sentence for `agent/not-installed`. */
  installHint?: string;
  /** Called with each complete stdout line (JSON-lines agents). */
  onLine?: (line: string) => void;
  killGraceMs?: number;
}

export interface AgentExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  transcript: string;
  /** The last ~64 KB of stdout. */
  stdout: string;
  stderrTail: string;
}

/** `agent/failed` for an agent that exited badly, with the last lines of its stderr. */
export function exitFailure(name: string, exit: AgentExit, what = ''): EngineError {
  const why = exit.stderrTail.trim().split('\n').slice(-3).join(' | ') || 'no output on stderr';
  return new EngineError('agent/failed', `the agent "${name}" exited with ${exit.code === null ? `signal ${exit.signal}` : `code ${exit.code}`}${what}: ${why}`);
}

/**
 * Runs an agent in the task's worktree, in a process group of its own: SIGTERM then SIGKILL to
 * the whole group on abort or timeout, and the group is killed when the leader exits, so
 * nothing it started outlives the task. Stdin is /dev/null (Codex waits for stdin otherwise).
 * Every output chunk is an `output` event; the transcript (bounded, the tail kept) is written
 * to `<scratchDir>/transcript.log` however the run ends, for the user to read beside a kept
 * worktree. Resolves with how it exited; throws `agent/not-installed` when the binary cannot
 * be found, `cancelled` on abort and `agent/failed` on timeout.
 */
export async function runAgentProcess(input: HarnessInput, p: AgentProcess): Promise<AgentExit> {
  if (input.signal.aborted) throw new EngineError('cancelled', `the agent "${p.name}" was cancelled before it started`);
  const grace = p.killGraceMs ?? 2000;
  const child = spawn(p.file, p.args, {
    cwd: input.worktree,
    shell: p.shell ?? false,
    // POSIX: a new process group (and session), so the group can be killed as one.
    detached: process.platform !== 'win32',
    env: p.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    windowsHide: true,
  });
  const pid = child.pid;
  input.onEvent({ type: 'started', pid });
  let transcript = '';
  let stdout = '';
  let stderrTail = '';
  let partial = '';
  const keep = (s: string, max: number) => (s.length > max ? s.slice(s.length - max) : s);
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (t: string) => {
    stdout = keep(stdout + t, MAX_STDOUT);
    transcript = keep(transcript + t, MAX_TRANSCRIPT);
    input.onEvent({ type: 'output', stream: 'stdout', text: t });
    if (!p.onLine) return;
    const lines = (partial + t).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) if (l.trim()) p.onLine(l);
  });
  child.stderr.on('data', (t: string) => {
    stderrTail = keep(stderrTail + t, 4000);
    transcript = keep(transcript + t, MAX_TRANSCRIPT);
    input.onEvent({ type: 'output', stream: 'stderr', text: t });
  });

  let stopped: 'aborted' | 'timeout' | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (why: 'aborted' | 'timeout') => {
    if (stopped || pid === undefined) return;
    stopped = why;
    killGroup(pid, 'SIGTERM');
    killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), grace);
  };
  const onAbort = () => stop('aborted');
  input.signal.addEventListener('abort', onAbort, { once: true });
  const timeout = input.budget.timeoutMs !== undefined ? setTimeout(() => stop('timeout'), input.budget.timeoutMs) : undefined;
  try {
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT' && p.installHint) reject(new EngineError('agent/not-installed', `the agent "${p.name}" is not installed (no ${p.file}): ${p.installHint}`, { cause: e }));
        else reject(new EngineError('agent/failed', `the agent "${p.name}" could not be started: ${e.message}`, { cause: e }));
      });
      child.once('exit', (code, sig) => resolve({ code, signal: sig }));
    });
    // The leader is gone; what it started in its group must not outlive the task. The pipes
    // close once the last process holding them is dead.
    if (pid !== undefined) killGroup(pid, 'SIGKILL');
    await new Promise<void>((resolve) => (child.stdout.readableEnded && child.stderr.readableEnded ? resolve() : child.once('close', () => resolve())));
    if (partial.trim()) p.onLine?.(partial);
    input.onEvent({ type: 'exited', code: exit.code, signal: exit.signal });
    if (stopped === 'aborted') throw new EngineError('cancelled', `the agent "${p.name}" was cancelled`);
    if (stopped === 'timeout') throw new EngineError('agent/failed', `the agent "${p.name}" did not finish within ${input.budget.timeoutMs} ms`);
    return { ...exit, transcript, stdout, stderrTail };
  } finally {
    input.signal.removeEventListener('abort', onAbort);
    if (timeout) clearTimeout(timeout);
    if (killTimer) clearTimeout(killTimer);
    await writeFile(path.join(input.scratchDir, 'transcript.log'), transcript).catch(() => undefined);
  }
}
