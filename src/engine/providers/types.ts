/** One interface over every model vendor. Implementations live one file per vendor. */
export type ProviderKind = 'openai' | 'anthropic' | 'openai-compatible' | 'vscode-lm' | 'recorded';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
  /** Assistant turns: the tools the model called in this turn (native tool calling). */
  toolCalls?: ToolCall[];
  /** User turns: the answers to the previous assistant turn's tool calls, before `content`. */
  toolResults?: ToolResult[];
}

/** A tool the model may call: its name, what it does, and its input as a JSON schema. */
export interface ToolSpec {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

/** One tool call of a model turn. `input` is the parsed JSON object (a string when it was not JSON). */
export interface ToolCall {
  id: string;
  name: string;
  input: unknown;
}

export interface ToolResult {
  callId: string;
  name: string;
  content: string;
  /** The tool refused or failed; the model is expected to correct itself. */
  isError?: boolean;
}

/** What a streamed answer reports as it arrives (for progress; the response carries the whole). */
export type StreamDelta = { kind: 'text'; text: string } | { kind: 'tool-call'; name: string };

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  /** Ask for a JSON answer matching this JSON schema (structured output where supported). */
  json?: { name: string; schema: Record<string, unknown> };
  maxTokens?: number;
  temperature?: number;
  /** Stream the answer (the result is the same; streaming lets timeouts see progress). */
  stream?: boolean;
  signal?: AbortSignal;
  /** Per-call timeout in ms (default from the provider's config). */
  timeoutMs?: number;
  /** Free-form labels for logs, recorded-response matching and cost attribution. */
  tags?: { role?: string; taskId?: string; runId?: string; attempt?: number };
  /**
   * Native tools the model may call. A provider whose endpoint refuses `tools` falls back,
   * once and for the rest of its life, to one JSON object per turn that names a tool
   * (providers/toolFallback.ts); the caller sees `toolCalls` either way.
   */
  tools?: ToolSpec[];
  /** Called with each piece of a streamed answer (only with `stream`). */
  onDelta?: (d: StreamDelta) => void;
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

export interface ChatResponse {
  text: string;
  usage: TokenUsage;
  /** The model that actually answered. */
  model: string;
  provider: ProviderKind;
  finishReason?: string;
  /** The tools the model called (only when the request offered `tools`). */
  toolCalls?: ToolCall[];
}

export interface ChatProvider {
  readonly kind: ProviderKind;
  /** Throws EngineError `provider/…` (see providers/errors.ts) or `cancelled`. */
  chat(req: ChatRequest): Promise<ChatResponse>;
}

/**
 * Port for VS Code's language-model API (vscode.lm). The extension implements it; the engine
 * only sees this shape, so it never imports `vscode`.
 */
export interface LanguageModelPort {
  listModels(): Promise<Array<{ id: string; vendor: string; family: string; name: string }>>;
  sendRequest(
    modelId: string,
    messages: ChatMessage[],
    signal?: AbortSignal,
    opts?: { tools?: ToolSpec[]; onDelta?: (d: StreamDelta) => void },
  ): Promise<{ text: string; inputTokens?: number; outputTokens?: number; toolCalls?: ToolCall[] }>;
}
