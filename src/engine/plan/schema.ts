import { z } from 'zod';
import { INPUT_LIMITS } from './limits';

/** Task types, also the keys of the model router. Field names here are a public contract. */
export const TASK_TYPES = ['design', 'code_gen', 'test', 'audit', 'optimize', 'docs', 'deploy'] as const;
export const TaskType = z.enum(TASK_TYPES);
export type TaskType = z.infer<typeof TaskType>;

export const TaskId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'task ids use letters, digits, ".", "_" and "-"');

/** A subtask as the planner model writes it. */
export const PlanTask = z.object({
  id: TaskId,
  title: z.string().min(1).max(INPUT_LIMITS.titleChars),
  type: TaskType,
  prompt: z.string().min(1).max(INPUT_LIMITS.promptChars),
  acceptanceCriteria: z.array(z.string()).default([]),
  dependsOn: z.array(z.string()).default([]),
  files: z.array(z.string()).default([]),
  /**
   * The command that checks this task's change (e.g. `npm test -- test/cart.test.ts`), run by the
   * built-in developer in the task's worktree before it finishes. It runs only when the allow
   * list takes it (agents/builtin/allowList.ts); otherwise the configured check is used.
   */
  verify: z.string().min(1).max(500).optional().describe('optional: the test command that checks this task, e.g. "npm test"'),
});
export type PlanTask = z.infer<typeof PlanTask>;

/** A plan as the planner model writes it (before the engine adds routes and status). */
export const Plan = z.object({
  goal: z.string().min(1).max(INPUT_LIMITS.goalChars),
  rationale: z.string().default(''),
  confidence: z.number().min(0).max(1),
  questions: z.array(z.string()).default([]),
  assumptions: z.array(z.string()).default([]),
  tasks: z.array(PlanTask),
});
export type Plan = z.infer<typeof Plan>;

export interface PlanLimits {
  /** Hard cap on the number of tasks (default 20). */
  maxTasks: number;
}
export const DEFAULT_PLAN_LIMITS: PlanLimits = { maxTasks: 20 };
