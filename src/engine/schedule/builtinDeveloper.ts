import type { ChangeVerification } from '../api';
import { toolDeveloperHarness } from '../agents/builtin/toolDeveloper';
import { BUILTIN_DEVELOPER } from '../agents/harness';
import { runDeveloper } from '../agents/developer';
import type { AgentHarness } from '../agents/harness';
import { feedbackSection, type AgentTask, type ModelClientLike } from '../agents/types';
import type { EngineConfig } from '../config';
import type { Logger } from '../ports';
import type { TaskRow } from '../runs/types';
import { runHarnessTask } from './runHarnessTask';

/**
 * Redoes a change with the built-in developer that `config.developer` names (Request Changes,
 * regeneration after a conflict), from `baseCommit`: the tool developer in a worktree of its
 * own, or the whole-file developer. A revision is then made, and checked, the way the first
 * version was.
 */
export async function redoWithBuiltinDeveloper(o: {
  repo: string;
  config: EngineConfig;
  log: Logger;
  client: ModelClientLike;
  row: TaskRow;
  task: AgentTask;
  baseCommit: string;
  signal: AbortSignal;
  /** The plan's per-task check, if it has one. */
  verify?: string;
}): Promise<{ patch: string; tree: string; summary: string; model?: string; verification?: ChangeVerification }> {
  const { repo, config, log, client, task, signal } = o;
  if (config.developer !== 'tools') return runDeveloper({ repo, task, baseTree: o.baseCommit, deps: [], client, maxSteps: config.agentMaxSteps, signal, log });
  return runHarnessTask({
    repo, config, log, row: o.row, task, base: { baseCommit: Promise.resolve(o.baseCommit), baseTree: o.baseCommit, deps: [] }, agent: BUILTIN_DEVELOPER, signal,
    builtin: withFeedbackInPrompt(toolDeveloperHarness({ repo, client, config, log, verify: o.verify })),
  });
}

/**
 * The tool developer's own prompt does not show `task.feedback` (the comments and the version
 * they are on), so it goes into the task's prompt, where the model reads it.
 */
function withFeedbackInPrompt(h: AgentHarness): AgentHarness {
  return {
    name: h.name,
    run: (input) => {
      const f = input.task.feedback;
      return h.run(f ? { ...input, task: { ...input.task, prompt: `${input.task.prompt}\n\n${feedbackSection(f)}`, feedback: undefined } } : input);
    },
  };
}
