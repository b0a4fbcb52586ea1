import type { ChangeVerification } from '../api';
import type { LazyTaskWorktree } from '../git/lazyWorktree';
import { feedbackSection, type AgentTask, type DependencyResult } from './types';

/**
 * The harness port: one way to run a coding agent (the `command` harness today; Claude Code,
 * Codex and Copilot CLI are to follow) on one task inside its own git worktree.
 *
 * The harness only runs the agent. The worktree is prepared and its change captured by the
 * caller (`schedule/runHarnessTask.ts`), so every harness feeds the same change request,
 * policy, review and merge queue. The built-in developer (`agents/developer.ts`) is not an
 * implementation of this port: it answers with a patch over a tree instead of editing files.
 */
export interface AgentHarness {
  /** The configured agent name, e.g. "aider". */
  readonly name: string;
  /**
   * Runs the agent to its end. Resolves when the agent finished normally; its edits are in
   * `input.worktree`. Throws `cancelled` when `input.signal` fires, `agent/failed` when the
   * agent failed (non-zero exit, over its budget). Either way, no process it started is left
   * running when the promise settles.
   */
  run(input: HarnessInput): Promise<HarnessResult>;
}

export interface HarnessBudget {
  /** Wall-clock limit for the agent; the task's own timeout applies as well. */
  timeoutMs?: number;
  /** Spending limit, for harnesses that report cost as they go. */
  maxUsd?: number;
}

export interface HarnessInput {
  task: AgentTask;
  /** What the task's direct dependencies did (their summaries and patches). */
  deps: DependencyResult[];
  /** The task's worktree: the agent's working directory, checked out at the task's base. */
  worktree: string;
  /**
   * A private folder outside the worktree for the harness's own files (the prompt file), so
   * they never appear in the captured change. Kept with a failed task's worktree.
   */
  scratchDir: string;
  /** The model the route names for this task, or undefined for the agent's own default. */
  model: string | undefined;
  budget: HarnessBudget;
  signal: AbortSignal;
  onEvent: (e: HarnessEvent) => void;
  /**
   * The agent's environment before the entry's own `env`: the user's environment plus the key
   * Hyperion holds for the agent's provider (see schedule/agentEnv.ts). Default `process.env`.
   */
  env?: Record<string, string | undefined>;
  /**
   * The built-in developer only: the task's worktree made on demand (`worktree` and
   * `scratchDir` are then empty). Its result then carries the `change`.
   */
  lazyWorktree?: LazyTaskWorktree;
}

/** What a harness reports while its agent runs (live progress will map these to engine events). */
export type HarnessEvent =
  | { type: 'started'; pid: number | undefined }
  | { type: 'output'; stream: 'stdout' | 'stderr'; text: string }
  /** What the agent is doing, for the task's row: "editing src/a.ts", "running npm test". */
  | { type: 'progress'; text: string }
  /**
   * What the agent has used so far in this attempt (cumulative, not a delta), as soon as its
   * stream says: the caller keeps the latest for the task's ledger and stops the agent when
   * its cost reaches the budget.
   */
  | { type: 'usage'; usage: HarnessUsage; model?: string }
  | { type: 'exited'; code: number | null; signal: string | null };

export interface HarnessUsage {
  inputTokens: number;
  outputTokens: number;
  /** USD, or null when the agent does not say. */
  costUsd: number | null;
}

export interface HarnessResult {
  summary: string;
  /** Null when the agent does not report usage (a plain command). */
  usage: HarnessUsage | null;
  /** Everything the agent printed, bounded (the tail is kept). */
  transcript: string;
  /** The model the agent says it used, when it says. */
  model?: string;
  /** The task's own check as the agent ran it last in the worktree (the built-in developer). */
  verification?: ChangeVerification;
  /** The change, when the harness worked from a lazy worktree (`HarnessInput.lazyWorktree`). */
  change?: { patch: string; tree: string };
}

const MAX_DEP_SUMMARY = 2000;

/**
 * The prompt an agent gets for a task: the task's prompt, its acceptance criteria, the files
 * it is expected to touch and what its dependencies already did (their changes are already in
 * the working tree, so only their summaries and file lists are given, not their patches).
 */
export function harnessPrompt(task: AgentTask, deps: readonly DependencyResult[]): string {
  const lines = [`# ${task.title}`, '', task.prompt.trim(), ''];
  if (task.acceptanceCriteria.length > 0) lines.push('## Acceptance criteria', '', ...task.acceptanceCriteria.map((c) => `- ${c}`), '');
  if (task.files.length > 0) lines.push('## Files you are expected to change', '', ...task.files.map((f) => `- ${f}`), '');
  if (deps.length > 0) {
    lines.push('## Already done by the tasks this one depends on (their changes are in your working tree)', '');
    for (const d of deps) {
      const files = [...new Set([...d.patch.matchAll(/^diff --git a\/(\S+)/gm)].map((m) => m[1]))];
      lines.push(`### ${d.title} (${d.taskId})`, '', d.summary.slice(0, MAX_DEP_SUMMARY) || '(no summary)', '');
      if (files.length > 0) lines.push(`Files changed: ${files.join(', ')}`, '');
    }
  }
  if (task.feedback) lines.push(feedbackSection(task.feedback));
  lines.push('Work in the current directory, which is a git worktree of the project. Do not commit; your edits are collected when you finish. End with a short summary of what you did.');
  return `${lines.join('\n')}\n`;
}

/** The harness name the built-in tool developer's attempts are recorded under: not an agent a view names. */
export const BUILTIN_DEVELOPER = 'built-in';
