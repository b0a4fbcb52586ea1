import { spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EngineError } from '../errors';
import { harnessPrompt, type AgentHarness, type HarnessInput, type HarnessResult } from './harness';

/** `agents.<name>` in EngineConfig for the `command` harness. */
export interface CommandAgentConfig {
  /** A shell command line; `{promptFile}` and `{model}` are replaced by quoted values. */
  command: string;
  /** Extra environment for the agent, over the user's own. */
  env?: Record<string, string>;
}

export interface CommandHarnessOptions {
  /** How long SIGTERM gets before SIGKILL. Default 2000 ms. */
  killGraceMs?: number;
  /** Lines of stdout kept as the summary. Default 20. */
  summaryLines?: number;
}

const MAX_TRANSCRIPT = 1_000_000;
const MAX_SUMMARY_CHARS = 4000;

/** Quotes a value for the platform's shell (`sh -c` on POSIX, cmd.exe on Windows). */
export function shellQuote(value: string): string {
  if (process.platform === 'win32') return `"${value.replace(/"/g, '""')}"`;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The command line with its placeholders filled in. Unknown `{…}` text is left as written. */
export function expandCommand(command: string, values: { promptFile: string; model: string | undefined }): string {
  return command.replace(/\{(promptFile|model)\}/g, (_m, key: 'promptFile' | 'model') => shellQuote(values[key] ?? ''));
}

/** Sends `sig` to the whole process group led by `pid`; false when none of it is left. */
export function killGroup(pid: number, sig: NodeJS.Signals): boolean {
  try {
    if (process.platform === 'win32') {
      // No process groups: taskkill /T ends the process tree (untested here: no Windows box).
      spawnSync('taskkill', ['/pid', String(pid), '/T', '/F'], { stdio: 'ignore', windowsHide: true });
      return true;
    }
    process.kill(-pid, sig);
    return true;
  } catch {
    return false;
  }
}

/**
 * The `command` harness: any command line from config (aider, gemini, opencode, a script),
 * run through the shell in the task's worktree, in a process group of its own. On abort or
 * timeout the group gets SIGTERM, then SIGKILL after a grace period; when the command ends on
 * its own, whatever it left running in its group is killed too, so no agent process outlives
 * the task. The prompt is written to `<scratchDir>/prompt.md` and named by `{promptFile}`
 * (also `HYPERION_PROMPT_FILE`). Summary: the last lines of stdout. No usage is known.
 */
export function commandHarness(name: string, cfg: CommandAgentConfig, opts: CommandHarnessOptions = {}): AgentHarness {
  const grace = opts.killGraceMs ?? 2000;
  const summaryLines = opts.summaryLines ?? 20;
  return {
    name,
    async run(input: HarnessInput): Promise<HarnessResult> {
      if (input.signal.aborted) throw new EngineError('cancelled', `the agent "${name}" was cancelled before it started`);
      const promptFile = path.join(input.scratchDir, 'prompt.md');
      await writeFile(promptFile, harnessPrompt(input.task, input.deps));
      const line = expandCommand(cfg.command, { promptFile, model: input.model });
      const child = spawn(line, {
        cwd: input.worktree,
        shell: true,
        // POSIX: a new process group (and session), so the group can be killed as one.
        detached: process.platform !== 'win32',
        env: { ...process.env, ...cfg.env, HYPERION_PROMPT_FILE: promptFile, HYPERION_MODEL: input.model ?? '', HYPERION_TASK_ID: input.task.id, HYPERION_RUN_ID: input.task.runId },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const pid = child.pid;
      input.onEvent({ type: 'started', pid });
      let transcript = '';
      let stdout = '';
      let stderrTail = '';
      const keep = (s: string, max: number) => (s.length > max ? s.slice(s.length - max) : s);
      child.stdout.setEncoding('utf8');
      child.stderr.setEncoding('utf8');
      child.stdout.on('data', (t: string) => {
        stdout = keep(stdout + t, 64_000);
        transcript = keep(transcript + t, MAX_TRANSCRIPT);
        input.onEvent({ type: 'output', stream: 'stdout', text: t });
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
          child.once('error', (e) => reject(new EngineError('agent/failed', `the agent "${name}" could not be started: ${e.message}`, { cause: e })));
          child.once('exit', (code, sig) => resolve({ code, signal: sig }));
        });
        // The shell is gone; what it started in its group must not outlive the task. The
        // pipes close once the last process holding them is dead.
        if (pid !== undefined) killGroup(pid, 'SIGKILL');
        await new Promise<void>((resolve) => (child.stdout.readableEnded && child.stderr.readableEnded ? resolve() : child.once('close', () => resolve())));
        input.onEvent({ type: 'exited', code: exit.code, signal: exit.signal });
        if (stopped === 'aborted') throw new EngineError('cancelled', `the agent "${name}" was cancelled`);
        if (stopped === 'timeout') throw new EngineError('agent/failed', `the agent "${name}" did not finish within ${input.budget.timeoutMs} ms`);
        if (exit.code !== 0) {
          const why = stderrTail.trim().split('\n').slice(-3).join(' | ') || `no output on stderr`;
          throw new EngineError('agent/failed', `the agent "${name}" exited with ${exit.code === null ? `signal ${exit.signal}` : `code ${exit.code}`}: ${why}`);
        }
        const summary = stdout.trim().split('\n').slice(-summaryLines).join('\n').slice(-MAX_SUMMARY_CHARS);
        return { summary: summary || input.task.title, usage: null, transcript };
      } finally {
        input.signal.removeEventListener('abort', onAbort);
        if (timeout) clearTimeout(timeout);
        if (killTimer) clearTimeout(killTimer);
        // Kept beside a failed task's worktree for the user to read; removed with it on success.
        await writeFile(path.join(input.scratchDir, 'transcript.log'), transcript).catch(() => undefined);
      }
    },
  };
}
