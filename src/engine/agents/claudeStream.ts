import type { HarnessUsage } from './harness';
import { isObj, jsonObject, num, toolProgress } from './toolProgress';

/** What one line of `claude -p --output-format stream-json --verbose` means to the harness. */
export type ClaudeStreamEvent =
  | { kind: 'progress'; text: string }
  | { kind: 'model'; model: string }
  /** The tokens of one model response so far; Claude Code repeats a response's usage on each of its blocks. */
  | { kind: 'usage'; messageId: string; inputTokens: number; outputTokens: number }
  | { kind: 'result'; ok: boolean; text: string; usage: HarnessUsage; subtype: string }
  | { kind: 'ignored' };


/** Cached prompt tokens are input the model read too; the ledger counts them as input. */
function inputTokensOf(u: Record<string, unknown>): number {
  return num(u.input_tokens) + num(u.cache_creation_input_tokens) + num(u.cache_read_input_tokens);
}

/**
 * Parses one stream-json line into the events it carries (an assistant message may hold
 * several tool calls). Lines that are not JSON, or events the harness has no use for, give
 * nothing, so a newer Claude Code with more event types still runs. Pure: `cwd` only shortens
 * the paths shown.
 */
export function parseClaudeLine(line: string, cwd: string): ClaudeStreamEvent[] {
  const ev = jsonObject(line);
  if (!ev) return [];
  if (ev.type === 'system' && ev.subtype === 'init' && typeof ev.model === 'string') return [{ kind: 'model', model: ev.model }];
  if (ev.type === 'assistant' && isObj(ev.message) && Array.isArray(ev.message.content)) {
    const out: ClaudeStreamEvent[] = [];
    const u = ev.message.usage;
    if (isObj(u) && typeof ev.message.id === 'string') {
      out.push({ kind: 'usage', messageId: ev.message.id, inputTokens: inputTokensOf(u), outputTokens: num(u.output_tokens) });
    }
    for (const block of ev.message.content) {
      if (isObj(block) && block.type === 'tool_use' && typeof block.name === 'string') out.push({ kind: 'progress', text: toolProgress(block.name, isObj(block.input) ? block.input : {}, cwd) });
    }
    return out;
  }
  if (ev.type === 'result') {
    const u = isObj(ev.usage) ? ev.usage : {};
    const inputTokens = inputTokensOf(u);
    const subtype = typeof ev.subtype === 'string' ? ev.subtype : 'unknown';
    const text = typeof ev.result === 'string' ? ev.result : '';
    return [{
      kind: 'result',
      ok: ev.is_error !== true && subtype === 'success',
      text,
      subtype,
      usage: { inputTokens, outputTokens: num(u.output_tokens), costUsd: typeof ev.total_cost_usd === 'number' ? ev.total_cost_usd : null },
    }];
  }
  return [];
}
