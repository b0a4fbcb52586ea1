import type { CodexAgent } from '../config';
import { EngineError } from '../errors';
import { parseCodexLine } from './codexStream';
import { harnessPrompt, type AgentHarness, type HarnessInput, type HarnessResult, type HarnessUsage } from './harness';
import { exitFailure, runAgentProcess } from './processRun';
import { writePrompt } from './scratch';

export const CODEX_INSTALL_HINT = 'install it with `npm install -g @openai/codex`, or set "path" in its agents entry';
const PROVIDER_ID = 'hyperion';

/** The arguments Hyperion gives `codex`: the entry's own `args` go before the prompt. */
export function codexArgs(prompt: string, cfg: CodexAgent, model: string | undefined): string[] {
  const args = ['exec', '--json', '--skip-git-repo-check', '--sandbox', 'workspace-write'];
  if (model) args.push('-m', model);
  if (cfg.provider) {
    const p = cfg.provider;
    // TOML values for -c: JSON strings are valid TOML basic strings.
    const table = `{name=${JSON.stringify(PROVIDER_ID)},base_url=${JSON.stringify(p.baseUrl)},env_key=${JSON.stringify(p.envKey)},wire_api=${JSON.stringify(p.wireApi ?? 'responses')}}`;
    args.push('-c', `model_provider=${JSON.stringify(PROVIDER_ID)}`, '-c', `model_providers.${PROVIDER_ID}=${table}`);
  }
  return [...args, ...(cfg.args ?? []), prompt];
}

/**
 * The `codex` harness: `codex exec --json` in the task's worktree with a workspace-write
 * sandbox, stdin closed (it waits for stdin otherwise), the user's environment (their
 * CODEX_HOME login or key) plus the entry's `env`, and a provider of their own when configured.
 * The last agent message is the summary; tokens are summed over turns.
 */
export function codexHarness(name: string, cfg: CodexAgent): AgentHarness {
  return {
    name,
    async run(input: HarnessInput): Promise<HarnessResult> {
      const prompt = harnessPrompt(input.task, input.deps);
      let summary = '';
      let failure: string | undefined;
      let usage: HarnessUsage | null = null;
      await writePrompt(input, prompt);
      const exit = await runAgentProcess(input, {
        name,
        file: cfg.path ?? 'codex',
        args: codexArgs(prompt, cfg, input.model),
        env: { ...(input.env ?? process.env), ...cfg.env },
        installHint: CODEX_INSTALL_HINT,
        onLine: (line) => {
          for (const ev of parseCodexLine(line, input.worktree)) {
            if (ev.kind === 'progress') input.onEvent({ type: 'progress', text: ev.text });
            else if (ev.kind === 'message') summary = ev.text;
            else if (ev.kind === 'failed') failure = ev.text || failure || 'no message';
            else if (ev.kind === 'usage') {
              usage = { inputTokens: (usage?.inputTokens ?? 0) + ev.usage.inputTokens, outputTokens: (usage?.outputTokens ?? 0) + ev.usage.outputTokens, costUsd: null };
              input.onEvent({ type: 'usage', usage, model: input.model });
            }
          }
        },
      });
      if (failure !== undefined) throw new EngineError('agent/failed', `the agent "${name}" failed: ${failure.trim().slice(0, 2000)}`);
      if (exit.code !== 0) throw exitFailure(name, exit);
      return { summary: summary.trim() || input.task.title, usage, transcript: exit.transcript };
    },
  };
}
