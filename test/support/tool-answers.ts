import type { ToolCall } from '../../src/engine/providers/types';

/**
 * Scripted models answer as the developer they are talking to. Scripts are written in the
 * whole-file protocol (one JSON action, agents/developer.ts) because it says the intent in
 * one string; when the request carries `tools` (the tool developer, agents/builtin/), the same
 * intent is answered as a tool-calling model would: a finish becomes, in one reply, a
 * `write_file` per written file, a `delete_file` per deletion, then `finish {summary}`.
 * Anything that is not a whole-file action (garbage, a reviewer's verdict) is left as text.
 */

/** True when the request is the tool developer's (it carries native tool specs). */
export function speaksTools(req: { tools?: readonly unknown[] }): boolean {
  return (req.tools?.length ?? 0) > 0;
}

/** The tool calls for a whole-file action's text, or undefined when the text is not such an action. */
export function toolCallsFor(text: string): ToolCall[] | undefined {
  let a: Record<string, unknown>;
  try {
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
    a = v as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const calls: Array<Omit<ToolCall, 'id'>> = [];
  switch (a.action) {
    case 'read_file':
      calls.push({ name: 'read_file', input: { path: a.path } });
      break;
    case 'list_dir':
      calls.push({ name: 'list_dir', input: { path: a.path ?? '' } });
      break;
    case 'search':
      calls.push({ name: 'search', input: { pattern: a.query } });
      break;
    case 'finish': {
      const files = Array.isArray(a.files) ? (a.files as Array<{ path: string; content: string }>) : [];
      const deletes = Array.isArray(a.deletes) ? (a.deletes as string[]) : [];
      for (const f of files) calls.push({ name: 'write_file', input: { path: f.path, content: f.content } });
      for (const p of deletes) calls.push({ name: 'delete_file', input: { path: p } });
      calls.push({ name: 'finish', input: { summary: a.summary } });
      break;
    }
    default:
      return undefined;
  }
  // Ids are a function of the answer alone, so a replayed request has the same cache key.
  return calls.map((c, i) => ({ id: `call_${i}_${c.name}`, ...c }));
}

/**
 * A scripted answer as the model would send it for `req`: unchanged without tools; with tools,
 * a whole-file action becomes tool calls (`text` keeps whatever is not the action, e.g. a nonce).
 */
export function answerFor(req: { tools?: readonly unknown[] }, text: string, keepText = ''): { text: string; toolCalls?: ToolCall[] } {
  if (!speaksTools(req)) return { text };
  const toolCalls = toolCallsFor(text);
  return toolCalls ? { text: keepText, toolCalls } : { text };
}

/**
 * True when a wire request (OpenAI or Anthropic JSON body) is the tool developer's: its tools
 * include `finish`. Anthropic requests of the whole-file developer carry one forced tool too
 * (its JSON schema), so "has tools" alone does not tell them apart.
 */
export function bodySpeaksTools(body: unknown): boolean {
  const tools = (body as { tools?: Array<{ name?: string; function?: { name?: string } }> } | undefined)?.tools;
  return Array.isArray(tools) && tools.some((t) => (t.function?.name ?? t.name) === 'finish');
}

/** A loopback `reply` step for a scripted whole-file answer, as tool calls when the wire request speaks tools. */
export function replyFor(body: unknown, text: string): { type: 'reply'; text: string; toolCalls?: Array<{ id: string; name: string; input: unknown }> } {
  const toolCalls = bodySpeaksTools(body) ? toolCallsFor(text) : undefined;
  return toolCalls ? { type: 'reply', text: '', toolCalls } : { type: 'reply', text };
}
