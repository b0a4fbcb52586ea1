import { isEngineError } from '../errors';
import { isTransient } from './errors';
import type { ChatMessage, ChatRequest, ChatResponse, ToolCall } from './types';

/**
 * The one-JSON-object-per-turn protocol, for endpoints that refuse native `tools` (some
 * local servers). A tools request is rewritten as a JSON request whose answer names one tool
 * and its input; earlier tool calls and results become plain text turns; the answer is read
 * back as one `ToolCall`. Callers keep speaking tools and never see the difference, except
 * that a turn holds at most one call.
 */

/** True for a permanent 400 that names the tools parameters: the endpoint does not take them. */
export function rejectsTools(e: unknown): boolean {
  return isEngineError(e, 'provider/bad-request') && !isTransient(e) && /\btools?\b|tool_choice|function[ _]?call|does not support tool/i.test(e.message);
}

const JSON_TOOL_SCHEMA_NAME = 'tool_call';

function renderCall(c: ToolCall): string {
  return JSON.stringify({ tool: c.name, input: c.input });
}

/** The request as one JSON object a turn: tools described in the system text, history as text. */
export function toolsAsJson(req: ChatRequest): ChatRequest {
  const tools = req.tools ?? [];
  const messages: ChatMessage[] = [];
  for (const m of req.messages) {
    if (m.role === 'assistant' && m.toolCalls?.length) {
      // Native turns may hold several calls; replayed as text, each is one JSON object on its own line.
      messages.push({ role: 'assistant', content: m.toolCalls.map(renderCall).join('\n') });
    } else if (m.role === 'user' && m.toolResults?.length) {
      const results = m.toolResults.map((r) => `${r.isError ? 'Error from' : 'Result of'} ${r.name}:\n${r.content}`);
      messages.push({ role: 'user', content: [...results, ...(m.content ? [m.content] : [])].join('\n\n') });
    } else messages.push({ role: m.role, content: m.content });
  }
  const list = tools.map((t) => `- ${t.name}: ${t.description}\n  input schema: ${JSON.stringify(t.inputSchema)}`).join('\n');
  messages.push({
    role: 'system',
    content: `You call tools by replying with exactly ONE JSON object and nothing else: {"tool":"<name>","input":{…}}. One tool per reply; its result comes in the next message.\nTools:\n${list}`,
  });
  return {
    ...req,
    messages,
    tools: undefined,
    json: {
      name: JSON_TOOL_SCHEMA_NAME,
      schema: { type: 'object', properties: { tool: { type: 'string', enum: tools.map((t) => t.name) }, input: { type: 'object' } }, required: ['tool', 'input'] },
    },
  };
}

let seq = 0;

/**
 * Reads a JSON-protocol answer as a tool call. An answer that is not such an object is
 * returned as text with no call, so the caller tells the model what was wrong.
 */
export function jsonAsToolCall(res: ChatResponse, tools: ChatRequest['tools']): ChatResponse {
  const value = parseObject(res.text);
  const names = new Set((tools ?? []).map((t) => t.name));
  if (value && typeof value.tool === 'string' && names.has(value.tool)) {
    return { ...res, text: '', toolCalls: [{ id: `json_call_${++seq}`, name: value.tool, input: value.input ?? {} }] };
  }
  return { ...res, toolCalls: [] };
}

function parseObject(text: string): Record<string, unknown> | undefined {
  const t = text.trim();
  const first = t.indexOf('{');
  const last = t.lastIndexOf('}');
  for (const c of [t, first >= 0 && last > first ? t.slice(first, last + 1) : '']) {
    if (!c) continue;
    try {
      const v = JSON.parse(c) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // try the next candidate
    }
  }
  return undefined;
}

/** A tool call's input as an object: a string that holds JSON is parsed (some servers send arguments as text). */
export function parseToolInput(raw: unknown): unknown {
  if (typeof raw !== 'string') return raw ?? {};
  if (raw.trim() === '') return {};
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

/**
 * Whether one provider instance still speaks native tools. The first refusal (`refuses`)
 * switches it to the one-JSON-object-per-turn protocol for good, so each endpoint pays for
 * the refused request once. Requests without tools pass through unchanged.
 */
export class NativeTools {
  private native = true;

  constructor(private readonly onRefused: () => void = () => {}, private readonly refuses: (e: unknown) => boolean = rejectsTools) {}

  get enabled(): boolean {
    return this.native;
  }

  async chat(req: ChatRequest, once: (req: ChatRequest) => Promise<ChatResponse>): Promise<ChatResponse> {
    if (!req.tools?.length) return once(req);
    if (this.native) {
      try {
        return await once(req);
      } catch (e) {
        if (!this.refuses(e)) throw e;
        this.native = false;
        this.onRefused();
      }
    }
    return jsonAsToolCall(await once(toolsAsJson(req)), req.tools);
  }
}
