import Anthropic from '@anthropic-ai/sdk';
import type { Logger } from '../ports';
import { openCallScope, sdkLogger, sdkTimeout, type CallScope } from './callScope';
import { providerError } from './errors';
import { NativeTools, parseToolInput } from './toolFallback';
import type { ChatMessage, ChatProvider, ChatRequest, ChatResponse, ToolCall } from './types';

export interface AnthropicProviderOptions {
  apiKey: string;
  /** Without the `/v1` suffix, e.g. `http://127.0.0.1:4000`; undefined means api.anthropic.com. */
  baseUrl?: string;
  timeoutMs: number;
  log: Logger;
  /** Used when the request sets no maxTokens (the Messages API requires one). */
  defaultMaxTokens?: number;
}

/**
 * Messages API through the official `@anthropic-ai/sdk` (SDK retries off; retry.ts retries).
 * Structured output uses one forced tool whose input schema is the requested JSON schema;
 * the tool input is returned as JSON text, so callers see the same shape as from OpenAI.
 * System messages are joined into `system`; consecutive same-role turns are merged because
 * the API requires alternating roles.
 *
 * Tools: `tool_use` / `tool_result` blocks natively; a server that rejects `tools` gets the
 * one-JSON-object-per-turn protocol from then on (toolFallback.ts).
 */
export class AnthropicChatProvider implements ChatProvider {
  readonly kind = 'anthropic' as const;
  private readonly client: Anthropic;
  private readonly tools: NativeTools;

  constructor(private readonly opts: AnthropicProviderOptions) {
    this.tools = new NativeTools(() => opts.log.info('server does not support tools; using one JSON object per turn from now on', { provider: this.kind }));
    this.client = new Anthropic({
      apiKey: opts.apiKey,
      authToken: null,
      baseURL: opts.baseUrl ?? 'https://api.anthropic.com',
      maxRetries: 0,
      logger: sdkLogger(opts.log, 'anthropic'),
      logLevel: 'warn',
      timeout: Math.max(opts.timeoutMs, 1000) * 2,
    });
  }

  /** False once the server refused native tools. */
  get usesNativeTools(): boolean {
    return this.tools.enabled;
  }

  async chat(req: ChatRequest): Promise<ChatResponse> {
    return this.tools.chat(req, (r) => this.chatOnce(r));
  }

  private async chatOnce(req: ChatRequest): Promise<ChatResponse> {
    const scope = openCallScope(this.kind, req.timeoutMs ?? this.opts.timeoutMs, req.signal);
    try {
      return await this.once(req, scope);
    } catch (e) {
      throw scope.fail(e);
    } finally {
      scope.dispose();
    }
  }

  private body(req: ChatRequest): Anthropic.MessageCreateParamsNonStreaming {
    const system = req.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
    const turns: Anthropic.MessageParam[] = [];
    for (const m of req.messages) {
      if (m.role === 'system') continue;
      const blocks = toBlocks(m);
      const last = turns[turns.length - 1];
      const plain = !m.toolCalls?.length && !m.toolResults?.length;
      if (last && last.role === m.role) last.content = plain && typeof last.content === 'string' ? `${last.content}\n\n${m.content}` : [...asBlocks(last.content), ...blocks];
      else turns.push({ role: m.role, content: plain ? m.content : blocks });
    }
    if (turns.length === 0 || turns[0].role !== 'user') turns.unshift({ role: 'user', content: '(continue)' });
    const body: Anthropic.MessageCreateParamsNonStreaming = {
      model: req.model,
      max_tokens: req.maxTokens ?? this.opts.defaultMaxTokens ?? 8192,
      messages: turns,
    };
    if (system) body.system = system;
    // `temperature` is not part of the Messages params in this SDK version, so it is not sent.
    if (req.tools?.length) {
      body.tools = req.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.inputSchema as Anthropic.Tool.InputSchema }));
    } else if (req.json) {
      const name = toolName(req.json.name);
      body.tools = [{ name, description: 'Record the answer as structured data.', input_schema: req.json.schema as Anthropic.Tool.InputSchema }];
      body.tool_choice = { type: 'tool', name };
    }
    return body;
  }

  private async once(req: ChatRequest, scope: CallScope): Promise<ChatResponse> {
    const body = this.body(req);
    if (!req.stream) {
      const res = await this.client.messages.create(body, { signal: scope.signal, timeout: sdkTimeout(req, this.opts.timeoutMs) });
      scope.throwIfEnded();
      let text = '';
      let toolInput: string | undefined;
      const calls: ToolCall[] = [];
      for (const block of res.content ?? []) {
        if (block.type === 'tool_use') {
          toolInput = JSON.stringify(block.input);
          calls.push({ id: block.id, name: block.name, input: parseToolInput(block.input) });
        } else if (block.type === 'text') text += block.text;
      }
      if (req.tools?.length) {
        return {
          text, toolCalls: calls,
          usage: { inputTokens: res.usage?.input_tokens ?? 0, outputTokens: res.usage?.output_tokens ?? 0 },
          model: res.model || req.model, provider: this.kind, finishReason: res.stop_reason ?? undefined,
        };
      }
      // A forced tool should always be used; if a server answers in text anyway, let the caller parse that.
      if (req.json && toolInput !== undefined) text = toolInput;
      return {
        text,
        usage: { inputTokens: res.usage?.input_tokens ?? 0, outputTokens: res.usage?.output_tokens ?? 0 },
        model: res.model || req.model,
        provider: this.kind,
        finishReason: res.stop_reason ?? undefined,
      };
    }
    const stream = await this.client.messages.create({ ...body, stream: true }, { signal: scope.signal, timeout: sdkTimeout(req, this.opts.timeoutMs) });
    let text = '';
    let toolJson = '';
    let model = req.model;
    let inputTokens = 0;
    let outputTokens = 0;
    let finishReason: string | undefined;
    let stopped = false;
    // Tool-use blocks by content index: their input arrives as JSON text in pieces.
    const blocks = new Map<number, { id: string; name: string; json: string }>();
    for await (const ev of stream) {
      switch (ev.type) {
        case 'content_block_start':
          if (ev.content_block.type === 'tool_use') {
            blocks.set(ev.index, { id: ev.content_block.id, name: ev.content_block.name, json: '' });
            req.onDelta?.({ kind: 'tool-call', name: ev.content_block.name });
          }
          break;
        case 'message_start':
          model = ev.message.model || model;
          inputTokens = ev.message.usage?.input_tokens ?? 0;
          outputTokens = ev.message.usage?.output_tokens ?? 0;
          break;
        case 'content_block_delta':
          if (ev.delta.type === 'text_delta') {
            text += ev.delta.text;
            req.onDelta?.({ kind: 'text', text: ev.delta.text });
          } else if (ev.delta.type === 'input_json_delta') {
            toolJson += ev.delta.partial_json;
            const b = blocks.get(ev.index);
            if (b) b.json += ev.delta.partial_json;
          }
          break;
        case 'message_delta':
          finishReason = ev.delta.stop_reason ?? finishReason;
          outputTokens = ev.usage?.output_tokens ?? outputTokens;
          if (typeof ev.usage?.input_tokens === 'number') inputTokens = ev.usage.input_tokens;
          break;
        case 'message_stop':
          stopped = true;
          break;
        default:
          // content_block_stop carries nothing we need: block text arrives as deltas.
          break;
      }
    }
    scope.throwIfEnded();
    if (!stopped) throw providerError('provider/network', 'anthropic stream ended before message_stop', { provider: this.kind });
    if (req.tools?.length) {
      const toolCalls = [...blocks.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => ({ id: b.id, name: b.name, input: parseToolInput(b.json) }));
      return { text, toolCalls, usage: { inputTokens, outputTokens }, model, provider: this.kind, finishReason };
    }
    return {
      text: req.json && toolJson !== '' ? toolJson : text,
      usage: { inputTokens, outputTokens },
      model,
      provider: this.kind,
      finishReason,
    };
  }
}

/** One engine message as content blocks: tool results first (the API wants them leading the user turn), then text. */
function toBlocks(m: ChatMessage): Anthropic.ContentBlockParam[] {
  const out: Anthropic.ContentBlockParam[] = [];
  for (const r of m.toolResults ?? []) out.push({ type: 'tool_result', tool_use_id: r.callId, content: r.content, ...(r.isError ? { is_error: true } : {}) });
  if (m.content) out.push({ type: 'text', text: m.content });
  for (const c of m.toolCalls ?? []) out.push({ type: 'tool_use', id: c.id, name: c.name, input: (c.input && typeof c.input === 'object' ? c.input : { value: c.input }) as Record<string, unknown> });
  return out;
}

function asBlocks(content: Anthropic.MessageParam['content']): Anthropic.ContentBlockParam[] {
  return typeof content === 'string' ? (content ? [{ type: 'text', text: content }] : []) : content;
}

/** Tool names must match `^[a-zA-Z0-9_-]{1,64}$`. */
function toolName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64);
  return s.length > 0 ? s : 'answer';
}
