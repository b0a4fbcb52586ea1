import { z } from 'zod';
import { TASK_TYPES } from './plan/schema';

/** Roles the router knows: the planner, the reviewer, and every task type. */
export const ROLES = ['planner', 'reviewer', ...TASK_TYPES] as const;
export type Role = (typeof ROLES)[number];

export const ProviderKindSchema = z.enum(['openai', 'anthropic', 'openai-compatible', 'vscode-lm', 'recorded']);

export const ModelRef = z.object({
  provider: ProviderKindSchema,
  model: z.string().min(1),
});
export type ModelRef = z.infer<typeof ModelRef>;

/** A route entry that names a configured coding agent (`agents.<name>`) instead of a provider: tasks of that type run the agent. */
export const AgentRef = z.object({
  agent: z.string().min(1),
  model: z.string().min(1).optional(),
});
export type AgentRef = z.infer<typeof AgentRef>;

/** One entry of a route: a provider's model, or a coding agent (issue 10). */
export const RouteRef = z.union([ModelRef, AgentRef]);
export type RouteRef = z.infer<typeof RouteRef>;

export function isAgentRef(r: RouteRef): r is AgentRef {
  return 'agent' in r && typeof r.agent === 'string';
}

/** USD per million tokens. */
export const Price = z.object({ input: z.number().nonnegative(), output: z.number().nonnegative() });

/** A coding agent run by the `command` harness (see agents/commandHarness.ts). */
export const CommandAgent = z.object({
  command: z.string().min(1),
  env: z.record(z.string(), z.string()).optional(),
  /** The provider whose key Hyperion holds that this command may have (as OPENAI_API_KEY or ANTHROPIC_API_KEY); none otherwise. */
  provider: z.enum(['openai', 'anthropic', 'openai-compatible']).optional(),
});

/** Claude Code run by the `claude-code` harness (see agents/claudeCodeHarness.ts). */
export const ClaudeCodeAgent = z.object({
  kind: z.literal('claude-code'),
  /** The `claude` binary; found on PATH when unset. */
  path: z.string().min(1).optional(),
  /** Extra arguments, after Hyperion's own. */
  args: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).optional(),
  maxTurns: z.number().int().min(1).optional(),
  /**
   * Default `acceptEdits`: edits inside the task's worktree (which lives outside `.git`, see
   * `worktreeBaseFor`, because Claude Code refuses to edit below a `.git` folder).
   */
  permissionMode: z.enum(['acceptEdits', 'bypassPermissions']).optional(),
});
export type ClaudeCodeAgent = z.infer<typeof ClaudeCodeAgent>;

/** Codex CLI run by the `codex` harness (see agents/codexHarness.ts). */
export const CodexAgent = z.object({
  kind: z.literal('codex'),
  path: z.string().min(1).optional(),
  args: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).optional(),
  /** A model provider of the user's own (Responses API); the key is read from `envKey`. */
  provider: z.object({ baseUrl: z.string().min(1), envKey: z.string().min(1), wireApi: z.literal('responses').optional() }).optional(),
});
export type CodexAgent = z.infer<typeof CodexAgent>;

/** GitHub Copilot CLI run by the `copilot` harness (see agents/copilotHarness.ts); it uses the user's own GitHub login. */
export const CopilotAgent = z.object({
  kind: z.literal('copilot'),
  path: z.string().min(1).optional(),
  args: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).optional(),
});
export type CopilotAgent = z.infer<typeof CopilotAgent>;

/** One configured agent: a command line, or a known agent by `kind`. */
export const AgentConfig = z.union([ClaudeCodeAgent, CodexAgent, CopilotAgent, CommandAgent]);
export type AgentConfig = z.infer<typeof AgentConfig>;

export const EngineConfig = z.object({
  providers: z
    .object({
      openai: z.object({ baseUrl: z.string().optional() }).default({}),
      anthropic: z.object({ baseUrl: z.string().optional() }).default({}),
      'openai-compatible': z.object({ baseUrl: z.string().default('http://127.0.0.1:11434/v1') }).default({ baseUrl: 'http://127.0.0.1:11434/v1' }),
      recorded: z.object({ file: z.string().optional() }).default({}),
    })
    .default({ openai: {}, anthropic: {}, 'openai-compatible': { baseUrl: 'http://127.0.0.1:11434/v1' }, recorded: {} }),
  /** Ordered list per role: the first is used, the rest are fallbacks. `default` covers unset roles. */
  routes: z.record(z.string(), z.array(RouteRef)).default({}),
  prices: z.record(z.string(), Price).default({}),
  /** One request to a provider (one attempt). */
  timeoutMs: z.number().int().positive().default(120_000),
  maxRetries: z.number().int().nonnegative().default(4),
  /**
   * One model call from start to answer, every retry, backoff and fallback model included:
   * a provider that never answers costs this long, not timeoutMs × (maxRetries + 1) + backoff.
   */
  callDeadlineMs: z.number().int().positive().default(120_000),
  planner: z
    .object({ maxTasks: z.number().int().min(1).max(20).default(20), repairAttempts: z.number().int().min(1).default(3) })
    .default({ maxTasks: 20, repairAttempts: 3 }),
  concurrency: z.number().int().min(1).max(16).default(3),
  taskTimeoutMs: z.number().int().positive().default(600_000),
  agentMaxSteps: z.number().int().min(1).default(8),
  queueWorkers: z.number().int().min(1).max(16).default(3),
  checkCommand: z.string().optional(),
  checkTimeoutMs: z.number().int().positive().default(600_000),
  protectedPaths: z.array(z.string()).optional(),
  maxPatchBytes: z.number().int().positive().default(1_000_000),
  budgetUsd: z.number().nonnegative().optional(),
  targetRef: z.string().optional(),
  /** Coding agents by name, for tasks that say `"agent": "<name>"`. Runs commands: a risky key (configTrust.ts). */
  agents: z.record(z.string(), AgentConfig).optional(),
  /** The agent for every task that names none and has no ready-made patch (CLI `--agent`, `HYPERION_AGENT`). */
  defaultAgent: z.string().min(1).optional(),
  /** An agent silent this long (no output) is stalled: killed, and the attempt retried as transient. */
  agentStallMs: z.number().int().positive().default(300_000),
  /**
   * Agent tasks on workers (`hyperion worker`) through Redis instead of in this process.
   * `redisUrl` (risky: it decides where the repository's code and tasks go) is
   * `redis://[user]:password@host:port` or `rediss://…` for TLS; `remote` is the git remote
   * both sides reach, where task bases and results are pushed under `refs/hyperion/`;
   * `checks` sends the merge queue's checks to workers started with `--checks` too.
   */
  distributed: z.object({ redisUrl: z.string().min(1).optional(), remote: z.string().min(1).default('origin'), checks: z.boolean().default(false) }).optional(),
  /**
   * The built-in developer for tasks without an agent: `tools` (the default) is a coding agent
   * in the task's worktree that edits in place and runs the check (agents/builtin/);
   * `whole-file` answers with whole files over a tree, the opt-in fallback.
   */
  developer: z.enum(['tools', 'whole-file']).default('tools'),
  /** The `tools` developer's runner (agents/builtin/runner.ts). */
  agent: z
    .object({
      /**
       * Commands `run_command` may run besides the built-in list (the check command, the
       * repository's test and lint scripts, read-only git). A command here allows itself and
       * any command that starts with it followed by more arguments. Runs commands: a risky key.
       */
      allowedCommands: z.array(z.string().min(1)).optional(),
      commandTimeoutMs: z.number().int().positive().default(120_000),
      /** Model replies per task, the finishing one included. */
      maxSteps: z.number().int().min(1).default(40),
    })
    .default({ commandTimeoutMs: 120_000, maxSteps: 40 }),
});
export type EngineConfig = z.infer<typeof EngineConfig>;

export function defaultConfig(): EngineConfig {
  return EngineConfig.parse({});
}
