import { EngineError } from '../errors';
import { harnessPrompt, type AgentHarness, type HarnessInput, type HarnessResult } from './harness';
import { exitFailure, runAgentProcess } from './processRun';
import { writePrompt } from './scratch';

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


/**
 * The `command` harness: any command line from config (aider, gemini, opencode, a script),
 * run through the shell in the task's worktree, in a process group of its own. On abort or
 * timeout the group gets SIGTERM, then SIGKILL after a grace period; when the command ends on
 * its own, whatever it left running in its group is killed too, so no agent process outlives
 * the task. The prompt is written to `<scratchDir>/prompt.md` and named by `{promptFile}`
 * (also `HYPERION_PROMPT_FILE`). Summary: the last lines of stdout. No usage is known.
 */
export function commandHarness(name: string, cfg: CommandAgentConfig, opts: CommandHarnessOptions = {}): AgentHarness {
  const summaryLines = opts.summaryLines ?? 20;
  return {
    name,
    async run(input: HarnessInput): Promise<HarnessResult> {
      if (input.signal.aborted) throw new EngineError('cancelled', `the agent "${name}" was cancelled before it started`);
      const promptFile = await writePrompt(input, harnessPrompt(input.task, input.deps));
      const exit = await runAgentProcess(input, {
        name,
        file: expandCommand(cfg.command, { promptFile, model: input.model }),
        args: [],
        shell: true,
        env: { ...(input.env ?? process.env), ...cfg.env, HYPERION_PROMPT_FILE: promptFile, HYPERION_MODEL: input.model ?? '', HYPERION_TASK_ID: input.task.id, HYPERION_RUN_ID: input.task.runId },
        killGraceMs: opts.killGraceMs,
      });
      if (exit.code !== 0) throw exitFailure(name, exit);
      const summary = exit.stdout.trim().split('\n').slice(-summaryLines).join('\n').slice(-MAX_SUMMARY_CHARS);
      return { summary: summary || input.task.title, usage: null, transcript: exit.transcript };
    },
  };
}
