import type { HarnessUsage } from './harness';
import { isObj, jsonObject, num, toolProgress } from './toolProgress';

/** What one line of `claude -p --output-format stream-json --verbose` means to the harness. */
export type ClaudeStreamEvent =
  | { kind: 'progress'; text: string }
  | { kind: 'model'; model: string }
  | { kind: 'result'; ok: boolean; text: string; usage: HarnessUsage; subtype: string }
  | { kind: 'ignored' };


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
    for (const block of ev.message.content) {
      if (isObj(block) && block.type === 'tool_use' && typeof block.name === 'string') out.push({ kind: 'progress', text: toolProgress(block.name, isObj(block.input) ? block.input : {}, cwd) });
    }
    return out;
  }
  if (ev.type === 'result') {
    const u = isObj(ev.usage) ? ev.usage : {};
    // Cached prompt tokens are input the model read too; the ledger counts them as input.
    const inputTokens = num(u.input_tokens) + num(u.cache_creation_input_tokens) + num(u.cache_read_input_tokens);
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
