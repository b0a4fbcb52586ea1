import { spawn } from 'node:child_process';
import { EngineError } from '../errors';
import { killGroup } from './commandHarness';
import type { HarnessInput } from './harness';

const MAX_TRANSCRIPT = 1_000_000;

export interface AgentProcess {
  /** The harness's agent name, for messages. */
  name: string;
  /** The binary and its arguments (no shell: the prompt is one argument as it is). */
  file: string;
  args: string[];
  env: Record<string, string | undefined>;
  /** How to install the binary when it is missing: one sentence for `agent/not-installed`. */
  installHint: string;
  /** Called with each complete stdout line (JSON-lines agents). */
  onLine: (line: string) => void;
  killGraceMs?: number;
}

export interface AgentExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  transcript: string;
  stderrTail: string;
}

/**
 * Runs an agent binary in the task's worktree, in a process group of its own (the same
 * discipline as the `command` harness: SIGTERM then SIGKILL to the whole group on abort or
 * timeout, and the group is killed when the leader exits so nothing it started outlives the
 * task). Stdin is /dev/null: Codex waits for stdin otherwise. Resolves with how it exited;
 * throws `agent/not-installed` when the binary cannot be found, `cancelled` on abort and
 * `agent/failed` on timeout.
 */
export async function runAgentProcess(input: HarnessInput, p: AgentProcess): Promise<AgentExit> {
  if (input.signal.aborted) throw new EngineError('cancelled', `the agent "${p.name}" was cancelled before it started`);
  const grace = p.killGraceMs ?? 2000;
  const child = spawn(p.file, p.args, {
    cwd: input.worktree,
    detached: process.platform !== 'win32',
    env: p.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    windowsHide: true,
  });
  const pid = child.pid;
  input.onEvent({ type: 'started', pid });
  let transcript = '';
  let stderrTail = '';
  let partial = '';
  const keep = (s: string, max: number) => (s.length > max ? s.slice(s.length - max) : s);
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (t: string) => {
    transcript = keep(transcript + t, MAX_TRANSCRIPT);
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
        if (e.code === 'ENOENT') reject(new EngineError('agent/not-installed', `the agent "${p.name}" is not installed (no ${p.file}): ${p.installHint}`, { cause: e }));
        else reject(new EngineError('agent/failed', `the agent "${p.name}" could not be started: ${e.message}`, { cause: e }));
      });
      child.once('exit', (code, sig) => resolve({ code, signal: sig }));
    });
    if (pid !== undefined) killGroup(pid, 'SIGKILL');
    await new Promise<void>((resolve) => (child.stdout.readableEnded && child.stderr.readableEnded ? resolve() : child.once('close', () => resolve())));
    if (partial.trim()) p.onLine(partial);
    input.onEvent({ type: 'exited', code: exit.code, signal: exit.signal });
    if (stopped === 'aborted') throw new EngineError('cancelled', `the agent "${p.name}" was cancelled`);
    if (stopped === 'timeout') throw new EngineError('agent/failed', `the agent "${p.name}" did not finish within ${input.budget.timeoutMs} ms`);
    return { ...exit, transcript, stderrTail };
  } finally {
    input.signal.removeEventListener('abort', onAbort);
    if (timeout) clearTimeout(timeout);
    if (killTimer) clearTimeout(killTimer);
  }
}
