/**
 * Simulated model speeds for the orchestration benchmark. The figures and their sources are in
 * bench/rates.md (approximate, as published around late 2025); keep the two in step.
 *
 * A reply of N characters is ceil(N / CHARS_PER_TOKEN) "tokens" (the loopback servers stream
 * one chunk of `chunkChars` characters per token) and takes `ttftMs + tokens × 1000 / tokensPerSecond`.
 */
export interface ModelRate {
  /** provider:model as routed by the engine. */
  provider: 'openai' | 'anthropic';
  model: string;
  /** Output tokens per second once generation has started. */
  tokensPerSecond: number;
  /** Time to first token, ms. */
  ttftMs: number;
  /** What it stands for in the benchmark. */
  tier: 'large' | 'mid' | 'small';
}

export const CHARS_PER_TOKEN = 4;

export const RATES = {
  large: { provider: 'anthropic', model: 'claude-opus-4-1', tokensPerSecond: 45, ttftMs: 2670, tier: 'large' },
  mid: { provider: 'openai', model: 'gpt-4.1-mini', tokensPerSecond: 77, ttftMs: 930, tier: 'mid' },
  small: { provider: 'openai', model: 'gpt-4.1-nano', tokensPerSecond: 96, ttftMs: 630, tier: 'small' },
} as const satisfies Record<string, ModelRate>;

export type Tier = keyof typeof RATES;

export function rateOfModel(model: string): ModelRate {
  const r = Object.values(RATES).find((x) => x.model === model);
  if (!r) throw new Error(`no rate for model "${model}"`);
  return r;
}

export function tokensOf(text: string): number {
  return Math.max(1, Math.ceil(text.length / CHARS_PER_TOKEN));
}

/** Server-side delay (ms) of one reply at 1/`scale` of real time, exactly as the loopback server sleeps it. */
export function replyLatencyMs(rate: ModelRate, text: string, scale: number): number {
  return rate.ttftMs / scale + tokensOf(text) * (1000 / rate.tokensPerSecond / scale);
}

/** The `latency` / `chunkChars` fields of a loopback reply for this rate and scale. */
export function loopbackLatency(rate: ModelRate, scale: number): { latency: { firstTokenMs: number; perTokenMs: number }; chunkChars: number } {
  return { latency: { firstTokenMs: rate.ttftMs / scale, perTokenMs: 1000 / rate.tokensPerSecond / scale }, chunkChars: CHARS_PER_TOKEN };
}
