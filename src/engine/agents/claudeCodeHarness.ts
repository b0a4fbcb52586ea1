import type { ClaudeCodeAgent } from '../config';
import { EngineError } from '../errors';
import { parseClaudeLine, type ClaudeStreamEvent } from './claudeStream';
import { harnessPrompt, type AgentHarness, type HarnessInput, type HarnessResult } from './harness';
import { exitFailure, runAgentProcess } from './processRun';
import { writePrompt } from './scratch';

const DEFAULT_MAX_TURNS = 50;
export const CLAUDE_INSTALL_HINT = 'install it with `npm install -g @anthropic-ai/claude-code`, or set "path" in its agents entry';

/** The arguments Hyperion gives `claude`, before the entry's own `args`. */
export function claudeArgs(prompt: string, cfg: ClaudeCodeAgent, model: string | undefined, maxUsd?: number): string[] {
  const args = ['-p', prompt, '--output-format', 'stream-json', '--verbose', '--permission-mode', cfg.permissionMode ?? 'acceptEdits', '--max-turns', String(cfg.maxTurns ?? DEFAULT_MAX_TURNS)];
  if (model) args.push('--model', model);
  // Claude Code stops itself at this spend (result subtype `error_max_budget_usd`); the caller
  // also watches the streamed usage and kills the agent, for a version that overshoots.
  if (maxUsd !== undefined) args.push('--max-budget-usd', maxUsd.toFixed(4));
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
      // Tokens per model response (a response's usage repeats on each of its blocks): the sum is what the attempt used so far.
      const responses = new Map<string, { inputTokens: number; outputTokens: number }>();
      const streamed = () => {
        let inputTokens = 0;
        let outputTokens = 0;
        for (const r of responses.values()) (inputTokens += r.inputTokens, outputTokens += r.outputTokens);
        return { inputTokens, outputTokens };
      };
      await writePrompt(input, prompt);
      const exit = await runAgentProcess(input, {
        name,
        file: cfg.path ?? 'claude',
        args: claudeArgs(prompt, cfg, input.model, input.budget.maxUsd),
        env: { ...(input.env ?? process.env), ...cfg.env },
        installHint: CLAUDE_INSTALL_HINT,
        onLine: (line) => {
          for (const ev of parseClaudeLine(line, input.worktree)) {
            if (ev.kind === 'progress') input.onEvent({ type: 'progress', text: ev.text });
            else if (ev.kind === 'model') model = ev.model;
            else if (ev.kind === 'usage') {
              responses.set(ev.messageId, { inputTokens: ev.inputTokens, outputTokens: ev.outputTokens });
              input.onEvent({ type: 'usage', usage: { ...streamed(), costUsd: null }, model });
            } else if (ev.kind === 'result') {
              // An error result (error_max_budget_usd) reports no tokens: keep what streamed in.
              const s = streamed();
              result = { ...ev, usage: { ...ev.usage, inputTokens: Math.max(ev.usage.inputTokens, s.inputTokens), outputTokens: Math.max(ev.usage.outputTokens, s.outputTokens) } };
              input.onEvent({ type: 'usage', usage: result.usage, model });
            }
          }
        },
      });
      if (result?.subtype === 'error_max_budget_usd') throw new EngineError('agent/over-budget', `the agent "${name}" stopped at its budget of $${input.budget.maxUsd?.toFixed(4) ?? '?'} ($${result.usage.costUsd?.toFixed(4) ?? '?'} spent)`);
      if (result && !result.ok) throw new EngineError('agent/failed', `the agent "${name}" ended with ${result.subtype}: ${result.text.trim().slice(0, 2000) || 'no message'}`);
      if (exit.code !== 0 || !result) throw exitFailure(name, exit, result ? '' : ' without a result');
      return { summary: result.text.trim() || input.task.title, usage: result.usage, transcript: exit.transcript, model };
    },
  };
}
