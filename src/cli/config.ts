import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { EngineConfig, isAgentRef, type ModelRef } from '../engine/config';
import { EngineError } from '../engine/errors';
import type { ProviderKind } from '../engine/providers/types';

export interface ProviderFlags {
  provider?: string;
  model?: string;
  baseUrl?: string;
  recordings?: string;
  check?: string;
}

const DEFAULT_MODELS: Record<Exclude<ProviderKind, 'vscode-lm'>, string> = {
  openai: 'gpt-4.1',
  anthropic: 'claude-sonnet-4-5',
  'openai-compatible': 'llama3.1',
  recorded: 'recorded',
};

/** A config file as read from disk, before it is parsed into EngineConfig. */
export interface ConfigFile {
  path: string;
  /** The exact text, or undefined when the file does not exist (defaults apply). */
  text?: string;
  raw: unknown;
  /** True when the file lies inside the repository's work tree: a patch could have written it. */
  inRepo: boolean;
}

/**
 * True when `file` is under `dir` by its path as given or by its real path: a symlink in the
 * repository pointing elsewhere, or a path outside pointing into it, both count as inside.
 */
function isInside(file: string, dir: string): boolean {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  const under = (f: string, d: string) => {
    const rel = path.relative(d, f);
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  };
  return under(path.resolve(file), path.resolve(dir)) || under(real(file), real(dir));
}

/**
 * Reads `--config FILE`, else `<repo>/.hyperion.json` (optional). `workTree` is the repository's
 * top folder: a file under it is repository config, whichever way it was named, and its risky
 * keys need the user's confirmation (see engine/configTrust.ts). Throws `usage/config` for
 * unreadable or invalid JSON.
 */
export function readConfigFile(repo: string, workTree: string, configFile?: string): ConfigFile {
  const file = path.resolve(configFile ?? path.join(repo, '.hyperion.json'));
  if (!existsSync(file)) {
    if (configFile !== undefined) throw new EngineError('usage/config', `the config file "${file}" does not exist`);
    return { path: file, raw: {}, inRepo: true };
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new EngineError('usage/config', `cannot read the config file "${file}"`, { cause: e });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new EngineError('usage/config', `the config file "${file}" is not valid JSON (${(e as Error).message})`);
  }
  // The default file is the repository's whatever it links to; a --config file is the user's unless it lies in the repository.
  return { path: file, text, raw, inRepo: configFile === undefined || isInside(file, workTree) };
}

/**
 * Builds the engine configuration for the CLI: the config file (same shape as EngineConfig),
 * then flags, which the user typed and so always win. Keys never enter the config: providers
 * read them from the env. Without --provider the provider follows the routes of the file, else
 * the keys present in the environment; `requireProvider` (plan, run) makes "no provider at all"
 * a usage error at once, while commands that may need no model (ready-made patches) leave the
 * built-in route, whose missing key is reported when a model is actually called.
 */
export function cliConfig(file: ConfigFile, flags: ProviderFlags, env: NodeJS.ProcessEnv, opts: { requireProvider: boolean }): EngineConfig {
  const parsed = EngineConfig.safeParse(file.raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new EngineError('usage/config', `the config file "${file.path}" is invalid: ${i.path.join('.')}: ${i.message}`);
  }
  const config = parsed.data;
  // Agent routes choose who runs a task, not which provider plans and reviews.
  const hasRoutes = Object.values(config.routes).some((refs) => refs.some((r) => !isAgentRef(r)));
  const mustPick = opts.requireProvider || flags.model !== undefined || flags.baseUrl !== undefined;
  if (flags.recordings !== undefined && flags.provider !== undefined && flags.provider !== 'recorded') {
    throw new EngineError('usage/flag', `--recordings only applies to --provider recorded, not ${flags.provider}`);
  }
  const provider = flags.provider ?? (flags.recordings !== undefined ? 'recorded' : hasRoutes ? undefined : mustPick ? pickProvider(env) : envProvider(env));
  if (provider !== undefined) {
    if (!['openai', 'anthropic', 'openai-compatible', 'recorded'].includes(provider)) {
      throw new EngineError('usage/provider', `unknown provider "${provider}": use openai, anthropic, openai-compatible or recorded`);
    }
    const kind = provider as Exclude<ProviderKind, 'vscode-lm'>;
    const ref: ModelRef = { provider: kind, model: flags.model ?? DEFAULT_MODELS[kind] };
    // The flag replaces every provider route; routes to agents stay.
    const agentRoutes = Object.entries(config.routes).map(([role, refs]) => [role, refs.filter(isAgentRef)] as const).filter(([, refs]) => refs.length > 0);
    config.routes = { ...Object.fromEntries(agentRoutes), default: [ref] };
  } else if (flags.model) {
    for (const refs of Object.values(config.routes)) for (const r of refs) r.model = flags.model;
  }
  if (flags.baseUrl) {
    const kind = provider ?? 'openai-compatible';
    if (kind !== 'openai' && kind !== 'anthropic' && kind !== 'openai-compatible') {
      throw new EngineError('usage/flag', `--base-url does not apply to the ${kind} provider`);
    }
    config.providers[kind] = { baseUrl: flags.baseUrl };
  }
  if (flags.recordings) config.providers.recorded = { file: path.resolve(flags.recordings) };
  if (flags.check !== undefined) config.checkCommand = flags.check;
  return config;
}

function envProvider(env: NodeJS.ProcessEnv): string | undefined {
  if (env.OPENAI_API_KEY) return 'openai';
  if (env.ANTHROPIC_API_KEY) return 'anthropic';
  return undefined;
}

function pickProvider(env: NodeJS.ProcessEnv): string {
  const p = envProvider(env);
  if (p) return p;
  throw new EngineError(
    'usage/no-provider',
    'no model provider is configured: set OPENAI_API_KEY or ANTHROPIC_API_KEY, or pass --provider openai-compatible --base-url URL (Ollama, LM Studio, vLLM) or --provider recorded',
  );
}
