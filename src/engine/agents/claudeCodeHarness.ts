import type { ClaudeCodeAgent } from '../config';
import { EngineError } from '../errors';
import { parseClaudeLine, type ClaudeStreamEvent } from './claudeStream';
import { harnessPrompt, type AgentHarness, type HarnessInput, type HarnessResult } from './harness';
import { exitFailure, runAgentProcess } from './processRun';
import { writePrompt } from './scratch';

const DEFAULT_MAX_TURNS = 50;
export const CLAUDE_INSTALL_HINT = 'install it with `npm install -g @anthropic-ai/claude-code`, or set "path" in its agents entry';

/** The arguments Hyperion gives `claude`, before the entry's own `args`. */
export function claudeArgs(prompt: string, cfg: ClaudeCodeAgent, model: string | undefined): string[] {
  const args = ['-p', prompt, '--output-format', 'stream-json', '--verbose', '--permission-mode', cfg.permissionMode ?? 'acceptEdits', '--max-turns', String(cfg.maxTurns ?? DEFAULT_MAX_TURNS)];
  if (model) args.push('--model', model);
  return [...args, ...(cfg.args ?? [])];
}

/**
 * The `claude-code` harness: `claude -p` in the task's worktree with edits allowed there
 * (`acceptEdits`), under the user's environment (their login or ANTHROPIC_API_KEY) plus the
 * entry's `env`. Tool calls become progress events; the final `result` event gives the
 * summary, tokens and cost, and an error result fails the task with its text.
 */
export function claudeCodeHarness(name: string, cfg: ClaudeCodeAgent): AgentHarness {
  return {
    name,
    async run(input: HarnessInput): Promise<HarnessResult> {
      const prompt = harnessPrompt(input.task, input.deps);
      let result: Extract<ClaudeStreamEvent, { kind: 'result' }> | undefined;
      let model: string | undefined;
      await writePrompt(input, prompt);
      const exit = await runAgentProcess(input, {
        name,
        file: cfg.path ?? 'claude',
        args: claudeArgs(prompt, cfg, input.model),
        env: { ...process.env, ...cfg.env },
        installHint: CLAUDE_INSTALL_HINT,
        onLine: (line) => {
          for (const ev of parseClaudeLine(line, input.worktree)) {
            if (ev.kind === 'progress') input.onEvent({ type: 'progress', text: ev.text });
            else if (ev.kind === 'model') model = ev.model;
            else if (ev.kind === 'result') result = ev;
          }
        },
      });
      if (result && !result.ok) throw new EngineError('agent/failed', `the agent "${name}" ended with ${result.subtype}: ${result.text.trim().slice(0, 2000) || 'no message'}`);
      if (exit.code !== 0 || !result) throw exitFailure(name, exit, result ? '' : ' without a result');
      return { summary: result.text.trim() || input.task.title, usage: result.usage, transcript: exit.transcript, model };
    },
  };
}
