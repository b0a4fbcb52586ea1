import type { HarnessUsage } from './harness';
import { firstLine, isObj, jsonObject, num, shownPath, str } from './toolProgress';

/** What one line of `codex exec --json` means to the harness. */
export type CodexStreamEvent =
  | { kind: 'progress'; text: string }
  | { kind: 'message'; text: string }
  | { kind: 'usage'; usage: HarnessUsage }
  | { kind: 'failed'; text: string }
  | { kind: 'ignored' };



/**
 * Parses one JSON line of `codex exec --json`: agent messages (the last is the summary),
 * commands and file changes as progress, each turn's usage, and `turn.failed` / `error` as a
 * failure. Other lines give nothing, so a newer Codex with more event types still runs.
 * Codex reports tokens, not cost: cost is left to the ledger's prices.
 */
export function parseCodexLine(line: string, cwd: string): CodexStreamEvent[] {
  const ev = jsonObject(line);
  if (!ev) return [];
  if (ev.type === 'item.started' || ev.type === 'item.completed') {
    const item = isObj(ev.item) ? ev.item : {};
    if (item.type === 'command_execution' && ev.type === 'item.started') return [{ kind: 'progress', text: `running ${firstLine(str(item.command))}` }];
    if (item.type === 'file_change' && ev.type === 'item.completed' && Array.isArray(item.changes)) {
      return item.changes.filter(isObj).map((c) => ({ kind: 'progress' as const, text: `${c.kind === 'delete' ? 'deleting' : 'editing'} ${shownPath(str(c.path), cwd)}` }));
    }
    if (item.type === 'agent_message' && ev.type === 'item.completed') return [{ kind: 'message', text: str(item.text) }];
    return [];
  }
  if (ev.type === 'turn.completed' && isObj(ev.usage)) {
    // Cached input is part of input_tokens in Codex's count.
    return [{ kind: 'usage', usage: { inputTokens: num(ev.usage.input_tokens), outputTokens: num(ev.usage.output_tokens), costUsd: null } }];
  }
  if (ev.type === 'turn.failed') return [{ kind: 'failed', text: isObj(ev.error) ? str(ev.error.message) : '' }];
  if (ev.type === 'error') return [{ kind: 'failed', text: str(ev.message) }];
  return [];
}
