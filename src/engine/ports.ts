/**
 * What a host (the VS Code extension, the CLI, a test) supplies to the engine.
 * The engine never reaches for globals such as `console` or `vscode`.
 */
export interface Logger {
  trace(msg: string, data?: Record<string, unknown>): void;
  debug(msg: string, data?: Record<string, unknown>): void;
  info(msg: string, data?: Record<string, unknown>): void;
  warn(msg: string, data?: Record<string, unknown>): void;
  error(msg: string, data?: Record<string, unknown>): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** Asks the person at the keyboard; hosts without one return undefined. */
export interface UserPrompt {
  /** Returns the answer, or undefined when the user declined or nobody can answer. */
  askQuestion(question: string, opts?: { choices?: string[]; signal?: AbortSignal }): Promise<string | undefined>;
}

/** Reads API keys from the host's secret store (SecretStorage) or the environment. */
export interface SecretReader {
  get(name: 'openai' | 'anthropic' | 'openai-compatible'): Promise<string | undefined>;
}

export const silentLogger: Logger = {
  trace() {}, debug() {}, info() {}, warn() {}, error() {},
};

export const systemClock: Clock = { now: () => Date.now() };
