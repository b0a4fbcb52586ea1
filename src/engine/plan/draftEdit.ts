import type { DraftEdit, DraftTaskFields } from '../api';
import type { EngineConfig } from '../config';
import { EngineError, assertNever } from '../errors';
import { findCycle, transitiveDependencies, type DagNode } from '../graph/dag';
import { routeFor } from '../providers/router';
import type { RunPlanInput, RunTaskInput } from '../runs/types';
import { checkPlanSizes } from './limits';
import { TaskId } from './schema';
import { validatePlan } from './validate';

/** What the validator says about a draft: every error, and the edges that lie on a cycle. */
export interface DraftCheck {
  errors: string[];
  /** `from` → `to` means `to` depends on `from` (as the graph draws it). */
  cycleEdges: Array<{ from: string; to: string }>;
}

/**
 * Every dependency edge that lies on some cycle: `to` depends on `from`, and `from` depends
 * on `to` again through other tasks. Marking all of them (not only the one cycle
 * `findCycle` returns) shows the user every edge whose deletion could fix it.
 */
export function cycleEdgesOf(nodes: readonly DagNode[]): Array<{ from: string; to: string }> {
  if (!findCycle(nodes)) return [];
  const out: Array<{ from: string; to: string }> = [];
  for (const n of nodes) {
    for (const d of n.dependsOn) {
      if (d === n.id || transitiveDependencies(nodes, d).has(n.id)) out.push({ from: d, to: n.id });
    }
  }
  return out;
}

/** Validates a draft with the plan validator (schema and graph rules) and finds its cycle edges. */
export function checkDraft(plan: RunPlanInput, maxTasks: number): DraftCheck {
  const v = validatePlan({ ...plan, tasks: plan.tasks.map(({ route: _r, patch: _p, agent: _a, model: _m, ...rest }) => rest) }, { maxTasks });
  return { errors: v.ok ? [] : v.errors, cycleEdges: cycleEdgesOf(plan.tasks) };
}

function taskIndex(plan: RunPlanInput, taskId: string): number {
  const i = plan.tasks.findIndex((t) => t.id === taskId);
  if (i < 0) throw new EngineError('plan/bad-edit', `the draft has no task "${taskId}"`);
  return i;
}

/** A fresh id (`t<n>`) that no task of the plan uses. */
function freeId(plan: RunPlanInput): string {
  const used = new Set(plan.tasks.map((t) => t.id));
  for (let n = plan.tasks.length + 1; ; n++) if (!used.has(`t${n}`)) return `t${n}`;
}

function applyFields(task: RunTaskInput, f: DraftTaskFields, config: EngineConfig): RunTaskInput {
  const next: RunTaskInput = { ...task };
  if (f.title !== undefined) next.title = f.title;
  if (f.prompt !== undefined) next.prompt = f.prompt;
  if (f.acceptanceCriteria !== undefined) next.acceptanceCriteria = f.acceptanceCriteria.map((s) => s.trim()).filter((s) => s.length > 0);
  if (f.files !== undefined) next.files = f.files.map((s) => s.trim()).filter((s) => s.length > 0);
  if (f.type !== undefined && f.type !== task.type) {
    next.type = f.type;
    // The built-in developer is routed by type (as the planner routes it): the route shown follows.
    next.route = routeFor(config, f.type)[0];
  }
  if (f.agent !== undefined) {
    if (f.agent === null || f.agent === '') delete next.agent;
    else next.agent = f.agent;
  }
  // The model a configured agent runs with (`{model}`), as a TaskRequest's `model`.
  if (f.model !== undefined) {
    if (f.model === null || f.model === '') delete next.model;
    else next.model = f.model;
  }
  return next;
}

/**
 * Applies one edit to a draft plan and returns the new plan (the input is not changed).
 * Removing a task also removes it from every other task's `dependsOn`. Adding a dependency
 * that closes a cycle is allowed: the draft keeps it so the user sees the cycle and can
 * delete an edge; `checkDraft` reports it and Start Run refuses it.
 *
 * Throws `plan/bad-edit` for an unknown task, a duplicate id, an edge that is already there
 * or missing, and for any field the plan validator refuses (empty title, unknown type, a
 * file outside the repository, more tasks than `maxTasks`, no task left);
 * `usage/too-large` for a title or prompt over the input limits.
 */
export function applyDraftEdit(plan: RunPlanInput, edit: DraftEdit, config: EngineConfig): RunPlanInput {
  const tasks = plan.tasks.map((t) => ({ ...t, dependsOn: [...t.dependsOn] }));
  const next: RunPlanInput = { ...plan, tasks };
  switch (edit.kind) {
    case 'task/update': {
      const i = taskIndex(next, edit.taskId);
      tasks[i] = applyFields(tasks[i], edit.fields, config);
      break;
    }
    case 'task/add': {
      const id = edit.task.id ?? freeId(next);
      if (!TaskId.safeParse(id).success) throw new EngineError('plan/bad-edit', `"${id}" is not a task id: use letters, digits, ".", "_" and "-"`);
      if (tasks.some((t) => t.id === id)) throw new EngineError('plan/bad-edit', `the draft already has a task "${id}"`);
      const type = edit.task.type ?? 'code_gen';
      const base: RunTaskInput = {
        id, title: edit.task.title, type, prompt: edit.task.prompt ?? edit.task.title,
        acceptanceCriteria: [], dependsOn: [], files: [], route: routeFor(config, type)[0],
      };
      tasks.push(applyFields(base, { ...edit.task, type: undefined }, config));
      for (const d of edit.task.dependsOn ?? []) {
        taskIndex(next, d);
        tasks[tasks.length - 1].dependsOn.push(d);
      }
      break;
    }
    case 'task/remove': {
      tasks.splice(taskIndex(next, edit.taskId), 1);
      for (const t of tasks) t.dependsOn = t.dependsOn.filter((d) => d !== edit.taskId);
      break;
    }
    case 'dependency/add': {
      taskIndex(next, edit.from);
      const to = tasks[taskIndex(next, edit.to)];
      if (edit.from === edit.to) throw new EngineError('plan/bad-edit', `task ${edit.to} cannot depend on itself`);
      if (to.dependsOn.includes(edit.from)) throw new EngineError('plan/bad-edit', `task ${edit.to} already depends on ${edit.from}`);
      to.dependsOn.push(edit.from);
      break;
    }
    case 'dependency/remove': {
      const to = tasks[taskIndex(next, edit.to)];
      if (!to.dependsOn.includes(edit.from)) throw new EngineError('plan/bad-edit', `task ${edit.to} does not depend on ${edit.from}`);
      to.dependsOn = to.dependsOn.filter((d) => d !== edit.from);
      break;
    }
    default:
      return assertNever(edit, 'draft edit');
  }
  checkPlanSizes(next);
  const { errors } = checkDraft(next, config.planner.maxTasks);
  // A cycle stays in the draft (the user fixes it in the graph); anything else is refused now.
  const refused = errors.filter((e) => !/dependency cycle|depends on itself/.test(e));
  if (refused.length > 0) throw new EngineError('plan/bad-edit', refused.join('; '));
  return next;
}
