/** One interface over every model vendor. Implementations live one file per vendor. */
export type ProviderKind = 'openai' | 'anthropic' | 'openai-compatible' | 'vscode-lm' | 'recorded';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

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
  sendRequest(modelId: string, messages: ChatMessage[], signal?: AbortSignal): Promise<{ text: string; inputTokens?: number; outputTokens?: number }>;
}
