import type { AgentConfig } from '../config';
import { assertNever } from '../errors';
import type { SecretReader } from '../ports';

type KeyName = Parameters<SecretReader['get']>[0];

/** The provider key an agent may receive from Hyperion, and the variable it reads it from. */
export function agentKeyFor(cfg: AgentConfig): { secret: KeyName; variable: string } | undefined {
  if (!('kind' in cfg)) {
    if (cfg.provider === undefined) return undefined;
    return { secret: cfg.provider, variable: cfg.provider === 'anthropic' ? 'ANTHROPIC_API_KEY' : 'OPENAI_API_KEY' };
  }
  switch (cfg.kind) {
    case 'claude-code':
      return { secret: 'anthropic', variable: 'ANTHROPIC_API_KEY' };
    case 'codex':
      // With a provider of the user's own, Codex reads that provider's `envKey`, not an OpenAI key.
      return cfg.provider ? undefined : { secret: 'openai', variable: 'OPENAI_API_KEY' };
    case 'copilot':
      return undefined;
    default:
      return assertNever(cfg, 'agent kind');
  }
}

/**
 * The environment an agent starts with: the user's own, as it is (their login, their keys,
 * CODEX_HOME…), plus the key Hyperion holds for the agent's own provider and for no other
 * (Claude Code gets the Anthropic key, Codex the OpenAI key, Copilot none, a command the key of
 * the `provider` its entry names). A variable the user already set is left as they set it.
 */
export async function agentEnv(cfg: AgentConfig, secrets: SecretReader | undefined, base: NodeJS.ProcessEnv = process.env): Promise<Record<string, string | undefined>> {
  const env: Record<string, string | undefined> = { ...base };
  const key = agentKeyFor(cfg);
  if (!key || !secrets || env[key.variable]) return env;
  const value = await secrets.get(key.secret);
  if (value) env[key.variable] = value;
  return env;
}
