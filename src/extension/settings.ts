import { AgentConfig, EngineConfig, ProviderKindSchema, ROLES, type ModelRef, type RouteRef } from '../engine/config';
import { planReviewMode, type PlanReviewMode } from './viewmodel/draft';

/**
 * Maps `hyperion.*` settings to `EngineConfig`. Pure: `read` is `(key) => value` over the
 * `hyperion` section (VS Code's `WorkspaceConfiguration.get`), so tests pass a plain object.
 * Invalid entries are skipped and reported in `problems` (one sentence each) rather than
 * failing the whole configuration: a typo in one route must not stop the others.
 */

/** Roles with a `hyperion.models.<role>` setting; `default` covers roles left empty. */
export const MODEL_SETTING_ROLES = ['default', ...ROLES] as const;
export type ModelSettingRole = (typeof MODEL_SETTING_ROLES)[number];

/** The providers a key can be stored for (SecretStorage entries `hyperion.apiKey.<provider>`). */
export const KEYED_PROVIDERS = ['openai', 'anthropic', 'openai-compatible'] as const;
export type KeyedProvider = (typeof KEYED_PROVIDERS)[number];

export interface SettingsResult {
  config: EngineConfig;
  /** True when `hyperion.autoApprove` is on: runs start with `approve: 'all'`. */
  autoApprove: boolean;
  /** `hyperion.planReview`: when a new plan waits as a draft (see viewmodel/draft.ts). */
  planReview: PlanReviewMode;
  problems: string[];
  /**
   * `hyperion.distributed.redisUrl` is set, whether or not it could be used: the Workers view
   * shows, and `problem` (also in `problems`) says why tasks still run here.
   */
  workers?: { problem?: string };
}

/** Secrets the mapping needs beside the settings; read from SecretStorage by the host. */
export interface SettingsSecrets {
  /** `hyperion.redisPassword`, put into `distributed.redisUrl` (the setting holds none). */
  redisPassword?: string;
}

/**
 * Parses `provider:model` (split at the first colon, since model names such as
 * `llama3:8b` contain colons). Returns undefined for anything else.
 */
export function parseModelRef(text: string): ModelRef | undefined {
  const i = text.indexOf(':');
  if (i <= 0 || i === text.length - 1) return undefined;
  const provider = ProviderKindSchema.safeParse(text.slice(0, i).trim());
  const model = text.slice(i + 1).trim();
  if (!provider.success || model.length === 0) return undefined;
  return { provider: provider.data, model };
}

export function formatModelRef(ref: ModelRef): string {
  return `${ref.provider}:${ref.model}`;
}

/** The prefix of a route entry that names a coding agent: `agent:<name>` or `agent:<name>/<model>`. */
export const AGENT_ROUTE_PREFIX = 'agent:';

/**
 * Parses a `hyperion.models.<role>` entry: `provider:model`, or `agent:<name>` /
 * `agent:<name>/<model>` for a configured coding agent (the name ends at the first `/`, so a
 * model such as `openrouter/x` keeps its slashes). Returns undefined for anything else.
 */
export function parseRouteRef(text: string): RouteRef | undefined {
  const t = text.trim();
  if (!t.startsWith(AGENT_ROUTE_PREFIX)) return parseModelRef(t);
  const rest = t.slice(AGENT_ROUTE_PREFIX.length);
  const slash = rest.indexOf('/');
  const name = (slash < 0 ? rest : rest.slice(0, slash)).trim();
  const model = slash < 0 ? undefined : rest.slice(slash + 1).trim();
  if (name.length === 0 || model === '') return undefined;
  return model === undefined ? { agent: name } : { agent: name, model };
}

/** The `hyperion.models.<role>` text of an agent route: what Select Models writes. */
export function formatAgentRoute(name: string, model?: string): string {
  return `${AGENT_ROUTE_PREFIX}${name}${model ? `/${model}` : ''}`;
}

/**
 * `hyperion.agents`: each entry checked on its own (a bad one is skipped with a sentence, the
 * others stay). Names may not contain `/`, which ends the name in an `agent:` route.
 */
function agentsFromSetting(raw: unknown, problems: string[]): Record<string, AgentConfig> | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push('hyperion.agents: expected an object of agent name → { "kind": "claude-code" | "codex" | "copilot" } or { "command": "…" }');
    return undefined;
  }
  const out: Record<string, AgentConfig> = {};
  for (const [name, entry] of Object.entries(raw as Record<string, unknown>)) {
    if (name.trim().length === 0 || name.includes('/')) {
      problems.push(`hyperion.agents: "${name}" is not a usable agent name (it must be non-empty and have no "/")`);
      continue;
    }
    const parsed = AgentConfig.safeParse(entry);
    if (parsed.success) out[name] = parsed.data;
    else problems.push(`hyperion.agents.${name}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'entry'}: ${i.message}`).join('; ')} (use { "kind": "claude-code" | "codex" | "copilot", "path"?, "args"?, "env"? } or { "command": "…", "env"? })`);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim().length > 0 ? v.trim() : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function settingsToEngineConfig(read: (key: string) => unknown, secrets: SettingsSecrets = {}): SettingsResult {
  const problems: string[] = [];
  const routes: Record<string, RouteRef[]> = {};
  for (const role of MODEL_SETTING_ROLES) {
    const raw = read(`models.${role}`);
    if (raw === undefined || raw === null) continue;
    const list = Array.isArray(raw) ? raw : [raw];
    const refs: RouteRef[] = [];
    for (const item of list) {
      const ref = typeof item === 'string' ? parseRouteRef(item) : undefined;
      if (ref) refs.push(ref);
      else problems.push(`hyperion.models.${role}: "${String(item)}" is not "provider:model" (providers: ${ProviderKindSchema.options.join(', ')}) or "agent:<name>"`);
    }
    if (refs.length > 0) routes[role] = refs;
  }

  const compatibleUrl = str(read('providers.openaiCompatible.baseUrl'));
  const input: Record<string, unknown> = {
    providers: {
      openai: { baseUrl: str(read('providers.openai.baseUrl')) },
      anthropic: { baseUrl: str(read('providers.anthropic.baseUrl')) },
      'openai-compatible': compatibleUrl ? { baseUrl: compatibleUrl } : {},
      recorded: {},
    },
    routes,
  };
  const optional: Array<[string, string, (v: unknown) => unknown]> = [
    ['concurrency', 'concurrency', num],
    ['queueWorkers', 'queueWorkers', num],
    ['checkCommand', 'checkCommand', str],
    ['budgetUsd', 'budgetUsd', num],
    ['targetBranch', 'targetRef', str],
    ['developer', 'developer', str],
  ];
  for (const [key, field, conv] of optional) {
    const v = conv(read(key));
    if (v !== undefined) input[field] = v;
  }
  const timeout = num(read('requestTimeoutSeconds'));
  if (timeout !== undefined) input.timeoutMs = Math.round(timeout * 1000);
  const deadline = num(read('callDeadlineSeconds'));
  if (deadline !== undefined) input.callDeadlineMs = Math.round(deadline * 1000);
  const taskTimeout = num(read('taskTimeoutMinutes'));
  if (taskTimeout !== undefined) input.taskTimeoutMs = Math.round(taskTimeout * 60_000);
  const agents = agentsFromSetting(read('agents'), problems);
  if (agents) input.agents = agents;
  const defaultAgent = str(read('defaultAgent'));
  if (defaultAgent !== undefined) input.defaultAgent = defaultAgent;
  const protectedPaths = read('protectedPaths');
  if (Array.isArray(protectedPaths)) input.protectedPaths = protectedPaths.filter((p): p is string => typeof p === 'string' && p.length > 0);
  const workers = distributedFromSettings(read, secrets, problems);
  if (workers?.distributed) input.distributed = workers.distributed;

  let config: EngineConfig;
  const parsed = EngineConfig.safeParse(input);
  if (parsed.success) {
    config = parsed.data;
  } else {
    // Keep what is valid: drop each offending top-level field and say so.
    const bad = new Set(parsed.error.issues.map((i) => String(i.path[0])));
    for (const issue of parsed.error.issues) problems.push(`hyperion setting for ${issue.path.join('.')}: ${issue.message}`);
    for (const k of bad) delete input[k];
    config = EngineConfig.parse(input);
  }
  problems.push(...unknownAgentProblems(config));
  return {
    config, autoApprove: read('autoApprove') === true, planReview: planReviewMode(read('planReview')), problems,
    ...(workers ? { workers: workers.problem ? { problem: workers.problem } : {} } : {}),
  };
}

/**
 * An agent named by `hyperion.defaultAgent` or an `agent:` route but missing from
 * `hyperion.agents`: its tasks fail with `agent/unknown` when they start, so say it now.
 */
function unknownAgentProblems(config: EngineConfig): string[] {
  const known = new Set(Object.keys(config.agents ?? {}));
  const hint = known.size > 0 ? ` (configured: ${[...known].join(', ')})` : '';
  const out: string[] = [];
  if (config.defaultAgent !== undefined && !known.has(config.defaultAgent)) out.push(`hyperion.defaultAgent: no agent "${config.defaultAgent}" is configured in hyperion.agents${hint}`);
  for (const [role, refs] of Object.entries(config.routes)) {
    for (const r of refs) if ('agent' in r && !known.has(r.agent)) out.push(`hyperion.models.${role}: no agent "${r.agent}" is configured in hyperion.agents${hint}`);
  }
  return out;
}

/**
 * `hyperion.*` settings that can run a command, receive an API key or loosen the change
 * policy (`agents` names commands to run; `defaultAgent` hands every task to one of them). A value for one of them from the workspace (`.vscode/settings.json`, a
 * `.code-workspace` file) comes from files a patch can write, so it takes effect only after
 * the user confirmed it (src/extension/configTrust.ts). User (global) values are the user's own.
 */
export const RISKY_SETTINGS = [
  'checkCommand',
  'providers.openai.baseUrl',
  'providers.anthropic.baseUrl',
  'providers.openaiCompatible.baseUrl',
  'protectedPaths',
  'targetBranch',
  'autoApprove',
  'agents',
  'defaultAgent',
  'developer',
  'distributed.redisUrl',
  'distributed.remote',
  'distributed.checks',
] as const;

/** What `WorkspaceConfiguration.inspect` tells about one setting (the fields used here). */
export interface SettingInspection {
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

/**
 * The workspace values of risky settings, keyed `hyperion.<key>` (a folder value wins over a
 * workspace-file value, as in VS Code). Empty when every risky setting is the user's or default.
 */
export function workspaceRiskySettings(inspect: (key: string) => SettingInspection | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of RISKY_SETTINGS) {
    const i = inspect(key);
    const v = i?.workspaceFolderValue !== undefined ? i.workspaceFolderValue : i?.workspaceValue;
    if (v !== undefined) out[`hyperion.${key}`] = v;
  }
  return out;
}

/** A settings reader in which risky settings keep only their user value (or the default). */
export function withoutWorkspaceValues(read: (key: string) => unknown, inspect: (key: string) => SettingInspection | undefined): (key: string) => unknown {
  const risky: ReadonlySet<string> = new Set(RISKY_SETTINGS);
  return (key) => (risky.has(key) ? inspect(key)?.globalValue : read(key));
}

/** SecretStorage entry of the Redis password (Hyperion: Set Redis Password). */
export const REDIS_PASSWORD_SECRET = 'hyperion.redisPassword';

/**
 * `hyperion.distributed.*` → `EngineConfig.distributed`, with the stored password put into the
 * URL. A URL that already holds a password is refused: settings are plain files (synced, and
 * in a workspace committed), so the password belongs in SecretStorage. Problems never echo the
 * URL's password. Undefined when no Redis URL is set.
 */
function distributedFromSettings(read: (key: string) => unknown, secrets: SettingsSecrets, problems: string[]): { distributed?: Record<string, unknown>; problem?: string } | undefined {
  const raw = str(read('distributed.redisUrl'));
  const remote = str(read('distributed.remote'));
  const checks = read('distributed.checks') === true;
  if (raw === undefined) return undefined;
  const refuse = (problem: string) => {
    problems.push(problem);
    return { problem };
  };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('hyperion.distributed.redisUrl is not a URL: use redis://HOST:PORT (rediss:// for TLS, redis://USER@HOST:PORT for an ACL user); tasks run on this machine until it is fixed');
  }
  if ((url.protocol !== 'redis:' && url.protocol !== 'rediss:') || !url.hostname) {
    return refuse(`hyperion.distributed.redisUrl must be redis://HOST:PORT or rediss://HOST:PORT (TLS), not ${url.protocol}//…; tasks run on this machine until it is fixed`);
  }
  if (url.password) {
    return refuse('hyperion.distributed.redisUrl contains a password: remove it from the setting and store it with "Hyperion: Set Redis Password" (settings are plain files); tasks run on this machine until then');
  }
  // ioredis decodes the password with decodeURIComponent; the URL setter alone leaves "%" as
  // it is, so encode it all first and any character may be in the password.
  if (secrets.redisPassword) url.password = encodeURIComponent(secrets.redisPassword);
  const distributed: Record<string, unknown> = { redisUrl: url.toString() };
  if (remote !== undefined) distributed.remote = remote;
  if (checks) distributed.checks = true;
  return { distributed };
}
