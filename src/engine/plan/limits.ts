import { EngineError } from '../errors';

/**
 * Size limits of what a user, a request file or a planner model can store. Every later read
 * (status, history, the runs tree) loads these fields, so an unbounded goal made every
 * command slow for good (a 50 MB goal: 5.7 s and 580 MB per `status`). Counted in characters
 * (UTF-16 code units, as JavaScript and zod count them).
 */
export const INPUT_LIMITS = {
  /** A goal: a few paragraphs of intent; context belongs in files and prompts. */
  goalChars: 20_000,
  /** One task's prompt, the instructions one agent gets. */
  promptChars: 50_000,
  /** One task's title, one line in lists. */
  titleChars: 200,
} as const;

function tooLarge(what: string, length: number, limit: number): EngineError {
  return new EngineError('usage/too-large', `${what} is ${length.toLocaleString('en-US')} characters; the limit is ${limit.toLocaleString('en-US')}`, {
    details: { length, limit },
  });
}

/** Throws `usage/too-large` when the goal is over INPUT_LIMITS.goalChars. */
export function checkGoalSize(goal: string): void {
  if (goal.length > INPUT_LIMITS.goalChars) throw tooLarge('the goal', goal.length, INPUT_LIMITS.goalChars);
}

/**
 * Checks a plan's goal and each task's title and prompt before anything is stored.
 * Throws `usage/too-large` naming the first field over its limit. Fields that are not strings
 * are left to the schema checks that follow.
 */
export function checkPlanSizes(plan: { goal?: unknown; tasks?: unknown }): void {
  if (typeof plan.goal === 'string') checkGoalSize(plan.goal);
  if (!Array.isArray(plan.tasks)) return;
  plan.tasks.forEach((t: unknown, i) => {
    if (typeof t !== 'object' || t === null) return;
    const task = t as { id?: unknown; title?: unknown; prompt?: unknown };
    const name = typeof task.id === 'string' && task.id.length <= 64 ? `task ${JSON.stringify(task.id)}` : `task #${i + 1}`;
    if (typeof task.title === 'string' && task.title.length > INPUT_LIMITS.titleChars) throw tooLarge(`the title of ${name}`, task.title.length, INPUT_LIMITS.titleChars);
    if (typeof task.prompt === 'string' && task.prompt.length > INPUT_LIMITS.promptChars) throw tooLarge(`the prompt of ${name}`, task.prompt.length, INPUT_LIMITS.promptChars);
  });
}
