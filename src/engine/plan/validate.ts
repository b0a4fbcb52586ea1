import { z } from 'zod';
import { findCycle } from '../graph/dag';
import { DEFAULT_PLAN_LIMITS, Plan, type PlanLimits } from './schema';

export type PlanValidation = { ok: true; plan: Plan } | { ok: false; errors: string[] };

/**
 * True when a repository-relative path is safe to name: relative, normalised, inside the
 * repository and not under `.git`. Used for a plan's `files`; the change policy is stricter.
 */
export function isSafeRepoPath(p: string): boolean {
  if (p.length === 0 || p.includes('\0') || p.includes('\\')) return false;
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) return false;
  const parts = p.split('/');
  return parts.every((s) => s !== '..' && s !== '') && parts[0].toLowerCase() !== '.git';
}

function formatZodIssues(err: z.ZodError): string[] {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
}

/**
 * Validates untrusted plan JSON (already parsed) with the schema and the graph rules.
 * Every error is a single line that names the task and the rule, so it can be sent back
 * to the model for repair and shown to the user.
 */
export function validatePlan(raw: unknown, limits: PlanLimits = DEFAULT_PLAN_LIMITS): PlanValidation {
  const parsed = Plan.safeParse(raw);
  if (!parsed.success) return { ok: false, errors: formatZodIssues(parsed.error) };
  const plan = parsed.data;
  const errors: string[] = [];
  if (plan.tasks.length === 0 && plan.questions.length === 0) errors.push('tasks: the plan has no tasks');
  if (plan.tasks.length > limits.maxTasks) errors.push(`tasks: ${plan.tasks.length} tasks is more than the maximum of ${limits.maxTasks}`);
  const ids = new Set<string>();
  for (const t of plan.tasks) {
    if (ids.has(t.id)) errors.push(`task ${t.id}: duplicate id`);
    ids.add(t.id);
  }
  for (const t of plan.tasks) {
    for (const d of t.dependsOn) {
      if (d === t.id) errors.push(`task ${t.id}: depends on itself`);
      else if (!ids.has(d)) errors.push(`task ${t.id}: depends on unknown task ${JSON.stringify(d)}`);
    }
    if (new Set(t.dependsOn).size !== t.dependsOn.length) errors.push(`task ${t.id}: lists a dependency twice`);
    for (const f of t.files) if (!isSafeRepoPath(f)) errors.push(`task ${t.id}: file ${JSON.stringify(f)} is outside the repository`);
  }
  const cycle = findCycle(plan.tasks.map((t) => ({ id: t.id, dependsOn: t.dependsOn.filter((d) => d !== t.id) })));
  if (cycle) errors.push(`tasks: dependency cycle ${cycle.join(' -> ')}`);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, plan };
}
