import Anthropic from '@anthropic-ai/sdk';
import type { Logger } from '../ports';
import { openCallScope, sdkLogger, sdkTimeout, type CallScope } from './callScope';
import { providerError } from './errors';
import type { ChatProvider, ChatRequest, ChatResponse } from './types';

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
 */
export class AnthropicChatProvider implements ChatProvider {
  readonly kind = 'anthropic' as const;
  private readonly client: Anthropic;

  constructor(private readonly opts: AnthropicProviderOptions) {
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

  async chat(req: ChatRequest): Promise<ChatResponse> {
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
      const last = turns[turns.length - 1];
      if (last && last.role === m.role) last.content = `${String(last.content)}\n\n${m.content}`;
      else turns.push({ role: m.role, content: m.content });
    }
    if (turns.length === 0 || turns[0].role !== 'user') turns.unshift({ role: 'user', content: '(continue)' });
    const body: Anthropic.MessageCreateParamsNonStreaming = {
      model: req.model,
      max_tokens: req.maxTokens ?? this.opts.defaultMaxTokens ?? 8192,
      messages: turns,
    };
    if (system) body.system = system;
    // `temperature` is not part of the Messages params in this SDK version, so it is not sent.
    if (req.json) {
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
      for (const block of res.content ?? []) {
        if (block.type === 'tool_use') toolInput = JSON.stringify(block.input);
        else if (block.type === 'text') text += block.text;
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
    for await (const ev of stream) {
      switch (ev.type) {
        case 'message_start':
          model = ev.message.model || model;
          inputTokens = ev.message.usage?.input_tokens ?? 0;
          outputTokens = ev.message.usage?.output_tokens ?? 0;
          break;
        case 'content_block_delta':
          if (ev.delta.type === 'text_delta') text += ev.delta.text;
          else if (ev.delta.type === 'input_json_delta') toolJson += ev.delta.partial_json;
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
          // content_block_start/stop carry nothing we need: block text arrives as deltas.
          break;
      }
    }
    scope.throwIfEnded();
    if (!stopped) throw providerError('provider/network', 'anthropic stream ended before message_stop', { provider: this.kind });
    return {
      text: req.json && toolJson !== '' ? toolJson : text,
      usage: { inputTokens, outputTokens },
      model,
      provider: this.kind,
      finishReason,
    };
  }
}

/** Tool names must match `^[a-zA-Z0-9_-]{1,64}$`. */
function toolName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64);
  return s.length > 0 ? s : 'answer';
}
