import type { ChangeVerification } from '../api';
import type { AgentHarness, HarnessEvent } from '../agents/harness';
import { harnessFor as harnessOfKind } from '../agents/harnesses';
import type { AgentTask } from '../agents/types';
import type { EngineConfig, ModelRef } from '../config';
import { EngineError, isEngineError } from '../errors';
import { fingerprintChanges, fingerprintRepo } from '../git/confinement';
import { captureWorktreeChange, createTaskWorktree, removeTaskWorktree } from '../git/taskWorktree';
import type { Logger } from '../ports';
import type { TaskRow } from '../runs/types';
import { worktreeBaseFor } from '../store/location';
import type { TaskBase } from './baseTree';

/**
 * The harness for a configured agent name. Throws `agent/unknown` with what to add to the
 * config when there is none.
 */
export function harnessFor(config: EngineConfig, name: string): AgentHarness {
  const cfg = config.agents !== undefined && Object.prototype.hasOwnProperty.call(config.agents, name) ? config.agents[name] : undefined;
  if (!cfg) {
    const known = Object.keys(config.agents ?? {});
    throw new EngineError('agent/unknown', `no agent "${name}" is configured: add "agents": { "${name}": { "command": "…" } } to .hyperion.json${known.length > 0 ? ` (configured: ${known.join(', ')})` : ''}`);
  }
  return harnessOfKind(name, cfg);
}

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
  /** The built-in tool developer (issue 11), run in place of a configured agent. */
  builtin?: AgentHarness;
}

/**
 * Runs a task's agent in a worktree of its own and returns its change, as the built-in
 * developer would: a canonical diff against the task's base tree and the tree it leads to.
 * The worktree is removed when the change was captured, and kept (with the prompt and the
 * transcript beside it) when the agent failed, was stopped or the capture failed, so the user
 * can look inside. Throws what the harness throws (`agent/…`, `cancelled`), `git/…`;
 * `agent/stalled` (transient, so the task's retry policy retries it) when the agent printed
 * nothing for `config.agentStallMs`; `agent/escaped` when the user's checkout, index,
 * `.git/config` or hooks moved while the agent ran (nothing of its change is stored).
 */
export async function runHarnessTask(input: HarnessTaskInput): Promise<{ patch: string; tree: string; summary: string; model: string; verification?: ChangeVerification }> {
  const { repo, config, row, task, base, signal } = input;
  const harness = input.builtin ?? harnessFor(config, input.agent);
  const baseCommit = await base.baseCommit;
  const wt = await createTaskWorktree(repo, await worktreeBaseFor(repo), { runId: row.run_id, taskId: row.id, baseCommit, baseTree: base.baseTree, signal });
  const model = input.model ?? modelFor(config, row);
  let captured: { patch: string; tree: string } | undefined;
  // A stall aborts the harness like a cancel (its process group is killed), but the attempt
  // fails as transient instead, so the retry policy gives the agent another go.
  const stall = new AbortController();
  let stallTimer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(stallTimer);
    stallTimer = setTimeout(() => stall.abort(), config.agentStallMs);
  };
  try {
    const before = await fingerprintRepo(repo, { signal });
    arm();
    let res;
    try {
      res = await harness.run({
        task, deps: base.deps, worktree: wt.dir, scratchDir: wt.scratchDir, model, budget: {}, signal: AbortSignal.any([signal, stall.signal]),
        onEvent: (e) => {
          if (e.type === 'output') arm();
          input.onEvent?.(e);
        },
      });
    } catch (e) {
      if (stall.signal.aborted && !signal.aborted) {
        throw new EngineError('agent/stalled', `the agent "${harness.name}" printed nothing for ${config.agentStallMs} ms and was stopped`, { cause: e, details: { transient: true } });
      }
      throw e;
    } finally {
      clearTimeout(stallTimer);
    }
    const moved = fingerprintChanges(before, await fingerprintRepo(repo, { signal }));
    if (moved.length > 0) throw new EngineError('agent/escaped', `the agent changed files outside its worktree: ${moved.join(', ')} moved while it ran; its change is not stored`);
    captured = await captureWorktreeChange(wt, { signal });
    const named = input.builtin ? (res.model ?? '') : `agent:${harness.name}${(res.model ?? model) ? `/${res.model ?? model}` : ''}`;
    return { ...captured, summary: res.summary, model: named, ...(res.verification ? { verification: res.verification } : {}) };
  } catch (e) {
    // The task's error is all a CLI user sees: say where to look.
    if (isEngineError(e, 'agent/')) throw new EngineError(e.code, `${e.message}; its worktree is kept at ${wt.dir}`, { cause: e.cause, details: e.details });
    throw e;
  } finally {
    if (captured) await removeTaskWorktree(repo, wt);
    else input.log.info('kept the worktree of a task whose agent did not finish', { runId: row.run_id, taskId: row.id, worktree: wt.dir });
  }
}
