import type { CopilotAgent } from '../config';
import { parseCopilotLine } from './copilotStream';
import { harnessPrompt, type AgentHarness, type HarnessInput, type HarnessResult } from './harness';
import { exitFailure, runAgentProcess } from './processRun';
import { writePrompt } from './scratch';

export const COPILOT_INSTALL_HINT = 'install it with `npm install -g @github/copilot` and sign in with `copilot login`, or set "path" in its agents entry';
const MAX_SUMMARY_CHARS = 4000;

/**
 * The arguments Hyperion gives `copilot`, before the entry's own `args`. Non-interactive (`-p`)
 * with file writes and shell commands allowed without asking, and nothing else widened: no
 * `--allow-all-paths` (Copilot keeps file access to its working directory, the worktree),
 * `--disallow-temp-dir`, no built-in GitHub MCP servers, `git push` denied (a deny beats an
 * allow). `--no-ask-user` because nobody is there to answer; `--no-auto-update` so the version
 * the user installed is the one that runs; JSON lines out, for progress and the summary.
 */
export function copilotArgs(prompt: string, cfg: CopilotAgent, model: string | undefined): string[] {
  const args = [
    '-p', prompt,
    '--allow-tool', 'write', '--allow-tool', 'shell', '--deny-tool', 'shell(git push)',
    '--disallow-temp-dir', '--disable-builtin-mcps', '--no-ask-user', '--no-auto-update', '--no-color', '--output-format', 'json',
  ];
  if (model) args.push('--model', model);
  return [...args, ...(cfg.args ?? [])];
}

/**
 * The `copilot` harness: GitHub Copilot CLI in non-interactive mode in the task's worktree,
 * under the user's environment (their GitHub login, or COPILOT_PROVIDER_* for a provider of
 * their own); Hyperion passes it no key. Its tool runs become progress events and its last
 * message is the summary; it reports no tokens Hyperion can book.
 */
export function copilotHarness(name: string, cfg: CopilotAgent): AgentHarness {
  return {
    name,
    async run(input: HarnessInput): Promise<HarnessResult> {
      const prompt = harnessPrompt(input.task, input.deps);
      await writePrompt(input, prompt);
      let summary = '';
      const exit = await runAgentProcess(input, {
        name,
        file: cfg.path ?? 'copilot',
        args: copilotArgs(prompt, cfg, input.model),
        env: { ...(input.env ?? process.env), ...cfg.env },
        installHint: COPILOT_INSTALL_HINT,
        onLine: (line) => {
          for (const ev of parseCopilotLine(line, input.worktree)) {
            if (ev.kind === 'progress') input.onEvent({ type: 'progress', text: ev.text });
            else summary = ev.text;
          }
        },
      });
      if (exit.code !== 0) throw exitFailure(name, exit);
      return { summary: summary.trim().slice(0, MAX_SUMMARY_CHARS) || input.task.title, usage: null, transcript: exit.transcript };
    },
  };
}
