import type { ChangeVerification } from '../api';
import type { AgentHarness, HarnessEvent, HarnessUsage } from '../agents/harness';
import { harnessFor as harnessOfKind } from '../agents/harnesses';
import type { AgentTask } from '../agents/types';
import type { AgentConfig, EngineConfig, ModelRef } from '../config';
import { EngineError, isEngineError } from '../errors';
import { fingerprintChanges, fingerprintRepo } from '../git/confinement';
import { LazyTaskWorktree } from '../git/lazyWorktree';
import { captureWorktreeChange, createTaskWorktree, removeTaskWorktree, type TaskWorktree } from '../git/taskWorktree';
import type { Logger, SecretReader } from '../ports';
import type { TaskRow } from '../runs/types';
import { worktreeBaseFor } from '../store/location';
import { agentEnv } from './agentEnv';
import type { TaskBase } from './baseTree';
import { throttleProgress } from './progressThrottle';

/**
 * The harness for a configured agent name. Throws `agent/unknown` with what to add to the
 * config when there is none.
 */
export function harnessFor(config: EngineConfig, name: string): AgentHarness {
  return harnessOfKind(name, agentConfigFor(config, name));
}

function agentConfigFor(config: EngineConfig, name: string): AgentConfig {
  const cfg = config.agents !== undefined && Object.prototype.hasOwnProperty.call(config.agents, name) ? config.agents[name] : undefined;
  if (!cfg) {
    const known = Object.keys(config.agents ?? {});
    throw new EngineError('agent/unknown', `no agent "${name}" is configured: add "agents": { "${name}": { "command": "…" } } to .hyperion.json${known.length > 0 ? ` (configured: ${known.join(', ')})` : ''}`);
  }
  return cfg;
}

/** USD for an agent's usage: what it reported, else `config.prices` (`<agent>:<model>`, then `<model>`); 0 when unpriced. */
export function agentCost(config: EngineConfig, agent: string, usage: HarnessUsage, model: string | undefined): number {
  if (usage.costUsd !== null) return usage.costUsd;
  const p = model !== undefined ? (config.prices[`${agent}:${model}`] ?? config.prices[model]) : undefined;
  return p ? (usage.inputTokens * p.input + usage.outputTokens * p.output) / 1_000_000 : 0;
}

/** What an agent attempt left, reported once however it ended: for the task's ledger and history. */
export interface AgentAttemptEnd {
  agent: string;
  model: string | undefined;
  usage: HarnessUsage | null;
  costUsd: number;
  transcript: string;
}

const MAX_TRANSCRIPT = 1_000_000;

/** The model for the task: its own route, else the config's route for its type, else the default route. */
function modelFor(config: EngineConfig, row: TaskRow): string | undefined {
  const own = row.route_json ? (JSON.parse(row.route_json) as ModelRef).model : undefined;
  return own ?? config.routes[row.type]?.[0]?.model ?? config.routes.default?.[0]?.model;
}

export interface HarnessTaskInput {
  repo: string;
  config: EngineConfig;
  log: Logger;
  row: TaskRow;
  task: AgentTask;
  base: TaskBase;
  agent: string;
  /** The model chosen for the task (its own, or its agent route's); else the routes' model. */
  model?: string;
  signal: AbortSignal;
  onEvent?: (e: HarnessEvent) => void;
  /** What the agent is doing, throttled (see `throttleProgress`): for the live `task/progress` event. */
  onProgress?: (text: string) => void;
  /** Called once when the agent ended, however it ended, before this function settles. */
  onAttemptEnd?: (end: AgentAttemptEnd) => void;
  /** Keys Hyperion holds; only the agent's own provider's key is passed on (see agentEnv.ts). */
  secrets?: SecretReader;
  /** What the run may still spend; the agent is stopped when its cost reaches it (`agent/over-budget`). */
  maxUsd?: number;
  /** The built-in tool developer (issue 11), run in place of a configured agent. */
  builtin?: AgentHarness;
}

/**
 * Runs a task's agent in a worktree of its own and returns its change, as the built-in
 * developer would: a canonical diff against the task's base tree and the tree it leads to.
 * The worktree is removed when the change was captured, and kept (with the prompt and the
 * transcript beside it) when the agent failed, was stopped or the capture failed, so the user
 * can look inside. The built-in developer (`builtin`) gets its worktree on demand instead
 * (`LazyTaskWorktree`): one that ran no command never had one, hands back its change itself,
 * and needs no fingerprint, since only a process could write outside. Throws what the harness throws (`agent/…`, `cancelled`), `git/…`;
 * `agent/stalled` (transient, so the task's retry policy retries it) when the agent printed
 * nothing for `config.agentStallMs`; `agent/escaped` when the user's checkout, index,
 * `.git/config` or hooks moved while the agent ran (nothing of its change is stored).
 */
export async function runHarnessTask(input: HarnessTaskInput): Promise<{ patch: string; tree: string; summary: string; model: string; verification?: ChangeVerification }> {
  const { repo, config, row, task, base, signal } = input;
  const cfg = input.builtin ? undefined : agentConfigFor(config, input.agent);
  const harness = input.builtin ?? harnessOfKind(input.agent, cfg!);
  if (input.maxUsd !== undefined && input.maxUsd <= 0) throw new EngineError('agent/over-budget', `the run's budget is spent; the agent "${harness.name}" was not started`);
  const env = cfg ? await agentEnv(cfg, input.secrets) : undefined;
  // The built-in developer works from git objects and checks out only when a command must run
  // (issue 11, item 6): its worktree is made on demand. An external agent needs files at once.
  const lazy = input.builtin
    ? new LazyTaskWorktree({ repo, stateDir: () => worktreeBaseFor(repo), runId: row.run_id, taskId: row.id, baseCommit: base.baseCommit, baseTree: base.baseTree, signal })
    : undefined;
  const wt: TaskWorktree | undefined = lazy ? undefined : await createTaskWorktree(repo, await worktreeBaseFor(repo), { runId: row.run_id, taskId: row.id, baseCommit: await base.baseCommit, baseTree: base.baseTree, signal });
  const model = input.model ?? modelFor(config, row);
  let captured: { patch: string; tree: string } | undefined;
  // A stall aborts the harness like a cancel (its process group is killed), but the attempt
  // fails as transient instead, so the retry policy gives the agent another go.
  const stall = new AbortController();
  // Reaching the budget kills the agent the same way; that attempt fails for good.
  const overBudget = new AbortController();
  let stallTimer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(stallTimer);
    stallTimer = setTimeout(() => stall.abort(), config.agentStallMs);
  };
  let usage: HarnessUsage | null = null;
  let usedModel: string | undefined;
  let transcript = '';
  const progress = throttleProgress((text) => input.onProgress?.(text));
  const spent = () => (usage ? agentCost(config, harness.name, usage, usedModel ?? model) : 0);
  try {
    const before = wt ? await fingerprintRepo(repo, { signal }) : undefined;
    arm();
    let res;
    try {
      res = await harness.run({
        task, deps: base.deps, worktree: wt?.dir ?? '', scratchDir: wt?.scratchDir ?? '', lazyWorktree: lazy, model, budget: { maxUsd: input.maxUsd }, env,
        signal: AbortSignal.any([signal, stall.signal, overBudget.signal]),
        onEvent: (e) => {
          // The stall clock restarts when the process exists, so the time to spawn it (a loaded
          // machine, a slow binary) never counts as the agent's silence.
          if (e.type === 'started') arm();
          else if (e.type === 'output') {
            arm();
            transcript = transcript.length + e.text.length > MAX_TRANSCRIPT ? (transcript + e.text).slice(-MAX_TRANSCRIPT) : transcript + e.text;
          } else if (e.type === 'progress') progress.push(e.text);
          else if (e.type === 'usage') {
            usage = e.usage;
            usedModel = e.model ?? usedModel;
            if (input.maxUsd !== undefined && spent() >= input.maxUsd) overBudget.abort();
          }
          input.onEvent?.(e);
        },
      });
      usage ??= res.usage;
      usedModel = res.model ?? usedModel;
      // The built-in developer keeps its own: each tool call with its input and answer.
      if (input.builtin && res.transcript) transcript = res.transcript;
    } catch (e) {
      if (overBudget.signal.aborted && !signal.aborted) {
        throw new EngineError('agent/over-budget', `the agent "${harness.name}" reached the run's remaining budget of $${input.maxUsd!.toFixed(4)} ($${spent().toFixed(4)} spent) and was stopped`, { cause: e });
      }
      if (stall.signal.aborted && !signal.aborted) {
        throw new EngineError('agent/stalled', `the agent "${harness.name}" printed nothing for ${config.agentStallMs} ms and was stopped`, { cause: e, details: { transient: true } });
      }
      throw e;
    } finally {
      clearTimeout(stallTimer);
      progress.flush();
      input.onAttemptEnd?.({ agent: harness.name, model: usedModel ?? model, usage, costUsd: spent(), transcript });
    }
    // Only a process can write outside the worktree: a built-in developer that ran no command has no fingerprint to compare.
    const since = before ?? lazy?.fingerprintBefore;
    const moved = since ? fingerprintChanges(since, await fingerprintRepo(repo, { signal })) : [];
    if (moved.length > 0) throw new EngineError('agent/escaped', `the agent changed files outside its worktree: ${moved.join(', ')} moved while it ran; its change is not stored`);
    captured = res.change ?? await captureWorktreeChange(wt ?? await lazy!.materialize(), { signal });
    const named = input.builtin ? (res.model ?? '') : `agent:${harness.name}${(res.model ?? model) ? `/${res.model ?? model}` : ''}`;
    return { ...captured, summary: res.summary, model: named, ...(res.verification ? { verification: res.verification } : {}) };
  } catch (e) {
    // The task's error is all a CLI user sees: say where to look.
    const kept = wt ?? await lazy?.settled();
    if (isEngineError(e, 'agent/') && kept) throw new EngineError(e.code, `${e.message}; its worktree is kept at ${kept.dir}`, { cause: e.cause, details: e.details });
    throw e;
  } finally {
    const made = wt ?? await lazy?.settled();
    if (made && captured) await removeTaskWorktree(repo, made);
    else if (made) input.log.info('kept the worktree of a task whose agent did not finish', { runId: row.run_id, taskId: row.id, worktree: made.dir });
  }
}
