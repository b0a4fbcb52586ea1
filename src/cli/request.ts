import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { RunnablePlan } from '../engine/api';
import { EngineError } from '../engine/errors';
import { checkPlanSizes } from '../engine/plan/limits';
import { TaskId, TaskType } from '../engine/plan/schema';
import { isSafeRepoPath, validatePlan } from '../engine/plan/validate';

/** The headless TaskRequest file: a plan written by a script, optionally with ready-made patches. */
export const TaskRequest = z.object({
  goal: z.string().min(1),
  tasks: z
    .array(
      z.object({
        id: TaskId,
        title: z.string().min(1),
        type: TaskType,
        dependsOn: z.array(z.string()).default([]),
        prompt: z.string().optional(),
        acceptanceCriteria: z.array(z.string()).optional(),
        files: z.array(z.string()).optional(),
        patch: z.string().optional(),
        /** A configured agent (`agents.<name>` in config) runs this task in its own worktree; ignored when `patch` is given. */
        agent: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'an agent name is letters, digits, dot, dash or underscore').optional(),
        /** The model for this task's agent (`{model}` in a command agent); ignored when `patch` is given. */
        model: z.string().min(1).max(200).optional(),
      }),
    )
    .min(1),
  approve: z.enum(['none', 'all']).default('none'),
});
export type TaskRequest = z.infer<typeof TaskRequest>;

/** Files a unified diff touches (b/ side, or a/ for deletions), for the scheduler's overlap rule. */
function filesOfPatch(patch: string): string[] {
  const files = new Set<string>();
  for (const m of patch.matchAll(/^(?:\+\+\+|---) (?:[ab]\/)?(\S+)/gm)) if (m[1] !== '/dev/null') files.add(m[1]);
  // Unsafe paths are left to the change policy, which rejects the task with the rule named.
  return [...files].filter(isSafeRepoPath);
}

/**
 * Reads and validates a TaskRequest file. Throws `request/…` errors (CLI exit 2) for bad JSON,
 * `usage/too-large` for a goal, title or prompt over INPUT_LIMITS, schema errors and graph errors (cycles, unknown dependencies); nothing is stored before that.
 */
export function loadTaskRequest(file: string, maxTasks: number): { plan: RunnablePlan; approve: 'none' | 'all' } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new EngineError('request/unreadable', `cannot read the request file "${file}"`, { cause: e });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new EngineError('request/bad-json', `the request file "${file}" is not valid JSON (${(e as Error).message})`);
  }
  // Sizes before the schema, so a huge goal or prompt is named as such (and never stored).
  if (typeof raw === 'object' && raw !== null) checkPlanSizes(raw as { goal?: unknown; tasks?: unknown });
  const parsed = TaskRequest.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new EngineError('request/invalid', `the request file is invalid: ${first.path.join('.') || '(root)'}: ${first.message}`);
  }
  const req = parsed.data;
  const plan: RunnablePlan = {
    goal: req.goal,
    rationale: 'from a TaskRequest file',
    confidence: 1,
    questions: [],
    assumptions: [],
    tasks: req.tasks.map((t) => ({
      id: t.id,
      title: t.title,
      type: t.type,
      prompt: t.prompt ?? t.title,
      acceptanceCriteria: t.acceptanceCriteria ?? [],
      dependsOn: t.dependsOn,
      files: t.files ?? (t.patch ? filesOfPatch(t.patch) : []),
      patch: t.patch,
      ...(t.agent !== undefined && t.patch === undefined ? { agent: t.agent } : {}),
      ...(t.model !== undefined && t.patch === undefined ? { model: t.model } : {}),
    })),
  };
  const v = validatePlan({ ...plan, tasks: plan.tasks.map(({ patch: _p, agent: _a, model: _m, ...rest }) => rest) }, { maxTasks });
  if (!v.ok) throw new EngineError('request/invalid', `the request file is invalid: ${v.errors.join('; ')}`);
  return { plan, approve: req.approve };
}
