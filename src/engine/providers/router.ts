import { isAgentRef, type AgentRef, type EngineConfig, type ModelRef, type Role } from '../config';
import { assertNever } from '../errors';
import type { Logger, SecretReader } from '../ports';
import { AnthropicChatProvider } from './anthropic';
import { keyHint, providerError } from './errors';
import { OpenAIChatProvider } from './openai';
import { RecordedChatProvider } from './recorded';
import type { ChatProvider, LanguageModelPort, ProviderKind } from './types';
import { VscodeLmChatProvider } from './vscodeLm';

/** Model used when a route names a provider but the built-in route has to pick a model. */
export const DEFAULT_MODELS: Record<ProviderKind, string> = {
  anthropic: 'claude-sonnet-4-5',
  openai: 'gpt-4.1',
  'openai-compatible': 'llama3.1',
  'vscode-lm': 'copilot-gpt-4o',
  recorded: 'recorded',
};

/**
 * The ordered list of models for a role: `routes[role]`, else `routes.default`, else a
 * built-in route. The built-in route is the recording when `providers.recorded.file` is set
 * (so a demo config needs nothing else), otherwise Anthropic then OpenAI with their default
 * models (a provider without a key fails with `provider/auth` and the next one is tried).
 */
export function routeFor(config: EngineConfig, role: Role | 'default'): ModelRef[] {
  // Agent entries are not models: a route of agents only falls through as if unset.
  const own = providerRefs(config.routes[role]);
  if (own.length > 0) return own;
  const fallback = providerRefs(config.routes.default);
  if (fallback.length > 0) return fallback;
  if (config.providers.recorded.file) return [{ provider: 'recorded', model: DEFAULT_MODELS.recorded }];
  return [
    { provider: 'anthropic', model: DEFAULT_MODELS.anthropic },
    { provider: 'openai', model: DEFAULT_MODELS.openai },
  ];
}

function providerRefs(refs: EngineConfig['routes'][string] | undefined): ModelRef[] {
  return (refs ?? []).filter((r): r is ModelRef => !isAgentRef(r));
}

/**
 * The agent a route sends tasks of this type to: the first entry of `routes[type]` (else of
 * `routes.default`) when that entry names an agent, else undefined (the built-in developer).
 */
export function agentRouteFor(config: EngineConfig, type: Role): AgentRef | undefined {
  const own = config.routes[type];
  const first = own && own.length > 0 ? own[0] : config.routes.default?.[0];
  return first && isAgentRef(first) ? first : undefined;
}

export interface ProviderRegistry {
  /**
   * The provider for a kind, built on first use. Throws `provider/auth` when its key is
   * missing, `provider/bad-request` when vscode-lm is asked for outside VS Code, and
   * `usage/bad-recording` when the recording cannot be read. A failed build is not cached,
   * so setting the key and retrying works.
   */
  get(kind: ProviderKind): Promise<ChatProvider>;
}

export interface ProviderRegistryDeps {
  config: EngineConfig;
  secrets: SecretReader;
  lm?: LanguageModelPort;
  log: Logger;
  /** Replace or add providers (tests, or a host with its own). Checked before building. */
  overrides?: Partial<Record<ProviderKind, ChatProvider>>;
}

/** Builds providers lazily. Keys come from `secrets` on first use and are never logged. */
export function createProviderRegistry(deps: ProviderRegistryDeps): ProviderRegistry {
  const built = new Map<ProviderKind, Promise<ChatProvider>>();
  const { config, log } = deps;
  const build = async (kind: ProviderKind): Promise<ChatProvider> => {
    const override = deps.overrides?.[kind];
    if (override) return override;
    switch (kind) {
      case 'openai': {
        const apiKey = await deps.secrets.get('openai');
        if (!apiKey) throw providerError('provider/auth', `no API key for openai: ${keyHint('openai')}`, { provider: kind });
        return new OpenAIChatProvider({ kind, apiKey, baseUrl: config.providers.openai.baseUrl, timeoutMs: config.timeoutMs, log });
      }
      case 'openai-compatible': {
        // Local servers (Ollama, LM Studio, vLLM) usually take any key; the SDK requires one.
        const apiKey = (await deps.secrets.get('openai-compatible')) || 'not-needed';
        return new OpenAIChatProvider({ kind, apiKey, baseUrl: config.providers['openai-compatible'].baseUrl, timeoutMs: config.timeoutMs, log });
      }
      case 'anthropic': {
        const apiKey = await deps.secrets.get('anthropic');
        if (!apiKey) throw providerError('provider/auth', `no API key for anthropic: ${keyHint('anthropic')}`, { provider: kind });
        return new AnthropicChatProvider({ apiKey, baseUrl: config.providers.anthropic.baseUrl, timeoutMs: config.timeoutMs, log });
      }
      case 'vscode-lm':
        if (!deps.lm) throw providerError('provider/bad-request', 'the vscode-lm provider is only available inside VS Code', { provider: kind });
        return new VscodeLmChatProvider(deps.lm, { timeoutMs: config.timeoutMs });
      case 'recorded': {
        const file = config.providers.recorded.file;
        if (!file) throw providerError('provider/no-recording', 'the recorded provider needs providers.recorded.file in the configuration', { provider: kind });
        return RecordedChatProvider.fromFile(file);
      }
      default:
        return assertNever(kind, 'provider kind');
    }
  };
  return {
    get(kind) {
      let p = built.get(kind);
      if (!p) {
        p = build(kind);
        built.set(kind, p);
        p.catch(() => built.delete(kind));
      }
      return p;
    },
  };
}
