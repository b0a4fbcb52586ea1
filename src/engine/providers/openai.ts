import OpenAI from 'openai';
import type { Logger } from '../ports';
import { openCallScope, sdkLogger, sdkTimeout, type CallScope } from './callScope';
import { isTransient, providerError } from './errors';
import { NativeTools, parseToolInput } from './toolFallback';
import type { ChatMessage, ChatProvider, ChatRequest, ChatResponse, ToolCall } from './types';
import { isEngineError } from '../errors';

export interface OpenAIProviderOptions {
  kind: 'openai' | 'openai-compatible';
  apiKey: string;
  /** e.g. `http://127.0.0.1:11434/v1` for Ollama; undefined means api.openai.com. */
  baseUrl?: string;
  /** Default per-call timeout when the request does not set one. */
  timeoutMs: number;
  log: Logger;
}

type JsonMode = 'json_schema' | 'json_object';

/**
 * Chat Completions through the official `openai` SDK, for OpenAI and OpenAI-compatible
 * servers. The SDK's own retries are off (`maxRetries: 0`); retry.ts retries for everyone.
 *
 * JSON: asks for `json_schema` structured output first; a server that rejects it with a 400
 * naming `response_format`/`json_schema` gets `json_object` from then on (remembered for this
 * provider instance) with the schema written into the prompt instead.
 *
 * Tools: `tools` / `tool_calls` natively; a server that rejects `tools` with a 400 gets the
 * one-JSON-object-per-turn protocol from then on (remembered the same way, toolFallback.ts).
 */
export class OpenAIChatProvider implements ChatProvider {
  readonly kind: 'openai' | 'openai-compatible';
  private readonly client: OpenAI;
  private jsonMode: JsonMode = 'json_schema';
  private readonly tools: NativeTools;

  constructor(private readonly opts: OpenAIProviderOptions) {
    this.tools = new NativeTools(() => opts.log.info('server does not support tools; using one JSON object per turn from now on', { provider: this.kind }));
    this.kind = opts.kind;
    this.client = new OpenAI({
      apiKey: opts.apiKey,
      baseURL: opts.baseUrl ?? 'https://api.openai.com/v1',
      maxRetries: 0,
      logger: sdkLogger(opts.log, 'openai'),
      logLevel: 'warn',
      // Our call scope enforces the real timeout; this one only backs it up.
      timeout: Math.max(opts.timeoutMs, 1000) * 2,
      organization: null,
      project: null,
    });
  }

  /** The JSON mode this instance currently uses (for tests and diagnostics). */
  get currentJsonMode(): JsonMode {
    return this.jsonMode;
  }

  /** False once the server refused native tools (for tests and diagnostics). */
  get usesNativeTools(): boolean {
    return this.tools.enabled;
  }

  async chat(req: ChatRequest): Promise<ChatResponse> {
    return this.tools.chat(req, (r) => this.chatOnce(r));
  }

  private async chatOnce(req: ChatRequest): Promise<ChatResponse> {
    const scope = openCallScope(this.kind, req.timeoutMs ?? this.opts.timeoutMs, req.signal);
    try {
      try {
        return await this.once(req, scope);
      } catch (e) {
        const err = scope.fail(e);
        if (req.json && this.jsonMode === 'json_schema' && rejectsJsonSchema(err)) {
          this.jsonMode = 'json_object';
          this.opts.log.info('server does not support json_schema; using json_object from now on', { provider: this.kind, model: req.model });
          return await this.once(req, scope);
        }
        throw err;
      }
    } catch (e) {
      throw scope.fail(e);
    } finally {
      scope.dispose();
    }
  }

  private body(req: ChatRequest): OpenAI.Chat.ChatCompletionCreateParamsNonStreaming {
    const messages: ChatMessage[] = [...req.messages];
    const body: OpenAI.Chat.ChatCompletionCreateParamsNonStreaming = {
      model: req.model,
      messages: [],
    };
    if (req.json) {
      if (this.jsonMode === 'json_schema') {
        body.response_format = { type: 'json_schema', json_schema: { name: safeSchemaName(req.json.name), schema: req.json.schema, strict: false } };
      } else {
        body.response_format = { type: 'json_object' };
        // json_object mode has no schema slot, and requires the word "JSON" in the prompt.
        messages.push({ role: 'system', content: `Answer with one JSON object matching this JSON schema:\n${JSON.stringify(req.json.schema)}` });
      }
    }
    body.messages = messages.flatMap((m) => toWire(m));
    if (req.tools?.length) {
      body.tools = req.tools.map((t) => ({ type: 'function' as const, function: { name: t.name, description: t.description, parameters: t.inputSchema } }));
    }
    if (req.temperature !== undefined) body.temperature = req.temperature;
    if (req.maxTokens !== undefined) {
      // Compatible servers (Ollama, vLLM, LM Studio) know max_tokens; OpenAI wants the newer name.
      if (this.kind === 'openai') body.max_completion_tokens = req.maxTokens;
      else body.max_tokens = req.maxTokens;
    }
    return body;
  }

  private async once(req: ChatRequest, scope: CallScope): Promise<ChatResponse> {
    const body = this.body(req);
    if (!req.stream) {
      const res = await this.client.chat.completions.create(body, { signal: scope.signal, timeout: sdkTimeout(req, this.opts.timeoutMs) });
      scope.throwIfEnded();
      const choice = res.choices?.[0];
      if (!choice) throw providerError('provider/server', `${this.kind} returned no choices`, { provider: this.kind });
      const calls = (choice.message?.tool_calls ?? []).flatMap((c) =>
        c.type === 'function' ? [{ id: c.id, name: c.function.name, input: parseToolInput(c.function.arguments) }] : []);
      return {
        text: choice.message?.content ?? '',
        usage: { inputTokens: res.usage?.prompt_tokens ?? 0, outputTokens: res.usage?.completion_tokens ?? 0 },
        model: res.model || req.model,
        provider: this.kind,
        finishReason: choice.finish_reason ?? undefined,
        ...(req.tools?.length ? { toolCalls: calls } : {}),
      };
    }
    const stream = await this.client.chat.completions.create(
      { ...body, stream: true, stream_options: { include_usage: true } },
      { signal: scope.signal, timeout: sdkTimeout(req, this.opts.timeoutMs) },
    );
    let text = '';
    let finishReason: string | undefined;
    let model = req.model;
    let usage = { inputTokens: 0, outputTokens: 0 };
    let sawDone = false;
    // Tool calls arrive in pieces keyed by index: the first carries id and name, the rest argument text.
    const calls: Array<{ id: string; name: string; args: string }> = [];
    for await (const chunk of stream) {
      if (chunk.model) model = chunk.model;
      const choice = chunk.choices?.[0];
      if (choice?.delta?.content) {
        text += choice.delta.content;
        req.onDelta?.({ kind: 'text', text: choice.delta.content });
      }
      for (const d of choice?.delta?.tool_calls ?? []) {
        const c = (calls[d.index] ??= { id: '', name: '', args: '' });
        if (d.id) c.id = d.id;
        if (d.function?.name) {
          c.name += d.function.name;
          req.onDelta?.({ kind: 'tool-call', name: c.name });
        }
        if (d.function?.arguments) c.args += d.function.arguments;
      }
      if (choice?.finish_reason) finishReason = choice.finish_reason;
      if (chunk.usage) {
        usage = { inputTokens: chunk.usage.prompt_tokens ?? 0, outputTokens: chunk.usage.completion_tokens ?? 0 };
        sawDone = true;
      }
    }
    // The SDK ends the iteration quietly on an abort and on a body that just stops.
    scope.throwIfEnded();
    if (finishReason === undefined && !sawDone) {
      throw providerError('provider/network', `${this.kind} stream ended before the answer finished`, { provider: this.kind });
    }
    const toolCalls: ToolCall[] = calls.filter(Boolean).map((c, i) => ({ id: c.id || `call_${i}`, name: c.name, input: parseToolInput(c.args) }));
    return { text, usage, model, provider: this.kind, finishReason, ...(req.tools?.length ? { toolCalls } : {}) };
  }
}

/** One engine message as Chat Completions messages: tool results become `tool` messages before the user's text. */
function toWire(m: ChatMessage): OpenAI.Chat.ChatCompletionMessageParam[] {
  if (m.role === 'assistant' && m.toolCalls?.length) {
    return [{
      role: 'assistant',
      content: m.content || null,
      tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: typeof c.input === 'string' ? c.input : JSON.stringify(c.input ?? {}) } })),
    }];
  }
  if (m.role === 'user' && m.toolResults?.length) {
    const out: OpenAI.Chat.ChatCompletionMessageParam[] = m.toolResults.map((r) => ({ role: 'tool' as const, tool_call_id: r.callId, content: r.isError ? `Error: ${r.content}` : r.content }));
    if (m.content) out.push({ role: 'user', content: m.content });
    return out;
  }
  return [{ role: m.role, content: m.content }];
}

function rejectsJsonSchema(e: unknown): boolean {
  return isEngineError(e, 'provider/bad-request') && !isTransient(e) && /response_format|json_schema/i.test(e.message);
}

/** OpenAI requires `^[a-zA-Z0-9_-]{1,64}$` for the schema name. */
function safeSchemaName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64);
  return s.length > 0 ? s : 'answer';
}
