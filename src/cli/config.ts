import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { EngineConfig, type ModelRef } from '../engine/config';
import { EngineError } from '../engine/errors';
import type { ProviderKind } from '../engine/providers/types';

export interface ProviderFlags {
  provider?: string;
  model?: string;
  baseUrl?: string;
  recordings?: string;
  check?: string;
  configFile?: string;
}

const DEFAULT_MODELS: Record<Exclude<ProviderKind, 'vscode-lm'>, string> = {
  openai: 'gpt-4.1',
  anthropic: 'claude-sonnet-4-5',
  'openai-compatible': 'llama3.1',
  recorded: 'recorded',
};

/**
 * Builds the engine configuration for the CLI: `<repo>/.hyperion.json` (optional, same shape
 * as EngineConfig), then flags. Without --provider the provider follows the keys present in
 * the environment. Keys themselves never enter the config: providers read them from the env.
 */
export function cliConfig(repo: string, flags: ProviderFlags, env: NodeJS.ProcessEnv): EngineConfig {
  const file = flags.configFile ?? path.join(repo, '.hyperion.json');
  let base: unknown = {};
  if (existsSync(file)) {
    try {
      base = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new EngineError('usage/config', `the config file "${file}" is not valid JSON (${(e as Error).message})`);
    }
  }
  const parsed = EngineConfig.safeParse(base);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new EngineError('usage/config', `the config file "${file}" is invalid: ${i.path.join('.')}: ${i.message}`);
  }
  const config = parsed.data;
  const provider = flags.provider ?? (Object.keys(config.routes).length > 0 ? undefined : pickProvider(env));
  if (provider !== undefined) {
    if (!['openai', 'anthropic', 'openai-compatible', 'recorded'].includes(provider)) {
      throw new EngineError('usage/provider', `unknown provider "${provider}": use openai, anthropic, openai-compatible or recorded`);
    }
    const kind = provider as Exclude<ProviderKind, 'vscode-lm'>;
    const ref: ModelRef = { provider: kind, model: flags.model ?? DEFAULT_MODELS[kind] };
    config.routes = { default: [ref] };
  } else if (flags.model) {
    for (const refs of Object.values(config.routes)) for (const r of refs) r.model = flags.model;
  }
  if (flags.baseUrl) {
    const kind = (provider ?? 'openai-compatible') as 'openai' | 'anthropic' | 'openai-compatible';
    if (kind === 'openai' || kind === 'anthropic' || kind === 'openai-compatible') config.providers[kind] = { baseUrl: flags.baseUrl };
  }
  if (flags.recordings) config.providers.recorded = { file: path.resolve(flags.recordings) };
  if (flags.check !== undefined) config.checkCommand = flags.check;
  return config;
}

function pickProvider(env: NodeJS.ProcessEnv): string {
  if (env.OPENAI_API_KEY) return 'openai';
  if (env.ANTHROPIC_API_KEY) return 'anthropic';
  throw new EngineError(
    'usage/no-provider',
    'no model provider is configured: set OPENAI_API_KEY or ANTHROPIC_API_KEY, or pass --provider openai-compatible --base-url URL (Ollama, LM Studio, vLLM) or --provider recorded',
  );
}
