import fs from 'node:fs';
import path from 'node:path';
import type { RunnablePlan } from '../../src/engine/api';
import { criticalPath, topologicalLevels, transitiveDependencies, type DagNode } from '../../src/engine/graph/dag';
import { Plan, type PlanTask } from '../../src/engine/plan/schema';
import { validatePlan } from '../../src/engine/plan/validate';
import { CHARS_PER_TOKEN, RATES, replyLatencyMs, type ModelRate, type Tier } from './rates';
import { fileContent } from './content';

/** One recorded goal: the planner's answer (`plan`) and how much each task writes. */
export interface GoalFile {
  name: string;
  shape: string;
  /** Output tokens of the files each task writes (the developer's finishing answer is a bit more: JSON + summary). */
  outputTokens: Record<string, number>;
  plan: Plan;
}

export function loadGoals(dir: string): GoalFile[] {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  return files.map((f) => {
    const raw = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as GoalFile;
    const v = validatePlan(raw.plan);
    if (!v.ok) throw new Error(`${f}: the recorded plan is invalid: ${v.errors.join('; ')}`);
    for (const t of raw.plan.tasks) if (!(raw.outputTokens[t.id] > 0)) throw new Error(`${f}: no outputTokens for ${t.id}`);
    return { ...raw, plan: Plan.parse(raw.plan) };
  });
}

/** Which simulated model answers a task type's developer calls (bench config routes the same way). */
export function tierOfType(type: string): Tier {
  return type === 'audit' ? 'small' : 'mid';
}

function taskFiles(goal: GoalFile, t: PlanTask): Array<{ path: string; content: string }> {
  const chars = goal.outputTokens[t.id]! * CHARS_PER_TOKEN;
  const per = Math.ceil(chars / t.files.length);
  return t.files.map((p) => ({ path: p, content: fileContent(`${goal.name}/${t.id}/${p}`, per) }));
}

/** The developer's finishing answer for one task of the Hyperion run. */
export function taskAnswer(goal: GoalFile, t: PlanTask): string {
  return JSON.stringify({ action: 'finish', summary: `${t.title}: done as asked, in ${t.files.join(', ')}.`, files: taskFiles(goal, t) });
}

/**
 * The large model's single answer for the whole goal: every file every task writes, in one
 * finish action, with a summary that walks through the parts (its own overhead).
 */
export function singleAnswer(goal: GoalFile): string {
  const files = goal.plan.tasks.flatMap((t) => taskFiles(goal, t));
  return JSON.stringify({ action: 'finish', summary: singleSummary(goal), files });
}

/** The single model's summary: it walks through the parts. */
export function singleSummary(goal: GoalFile): string {
  return [`${goal.plan.goal}. The change, part by part:`, ...goal.plan.tasks.map((t, i) => `${i + 1}. ${t.title} (${t.files.join(', ')}).`)].join('\n');
}

/** The planner's answer: the recorded plan, as a model would write it. */
export function planAnswer(goal: GoalFile): string {
  return JSON.stringify(goal.plan);
}

export function reviewAnswer(taskId: string): string {
  return JSON.stringify({ verdict: 'approve', comments: `Task ${taskId}: the change does what the subtask asks, stays inside its files and meets the acceptance criteria.` });
}

/** The one-task plan of the single-model way: one task, every file, routed like code_gen. */
export function singleTaskPlan(goal: GoalFile): RunnablePlan {
  const files = [...new Set(goal.plan.tasks.flatMap((t) => t.files))];
  return {
    ...goal.plan,
    tasks: [{
      id: 'all',
      title: goal.plan.goal,
      type: 'code_gen',
      prompt: [`${goal.plan.goal}. Do all of it in one change:`, ...goal.plan.tasks.map((t) => `- ${t.prompt}`)].join('\n'),
      acceptanceCriteria: [...new Set(goal.plan.tasks.flatMap((t) => t.acceptanceCriteria))],
      dependsOn: [],
      files,
    }],
  };
}

export interface GoalTiming {
  /** Simulated model time of the planner call (large model). */
  plannerMs: number;
  /** Per task: developer call + review call, simulated. */
  taskMs: Map<string, number>;
  /** plannerMs + the heaviest dependency chain of taskMs: the lower bound of the Hyperion run. */
  criticalPathMs: number;
  criticalPath: string[];
  /** Simulated model time of the single-model way: the large model's one answer + its review. */
  singleMs: number;
}

/**
 * Simulated model times of one goal. `taskTier` puts every task's developer call on one tier
 * (to separate the gain from parallelism from the gain from faster models); reviews stay small.
 */
export function simulatedTimes(goal: GoalFile, scale: number, opts: { taskTier?: Tier } = {}): GoalTiming & { serialMs: number } {
  const review = (id: string) => replyLatencyMs(RATES.small, reviewAnswer(id), scale);
  const taskMs = new Map<string, number>();
  for (const t of goal.plan.tasks) {
    const rate: ModelRate = RATES[opts.taskTier ?? tierOfType(t.type)];
    taskMs.set(t.id, replyLatencyMs(rate, taskAnswer(goal, t), scale) + review(t.id));
  }
  const nodes: DagNode[] = goal.plan.tasks.map((t) => ({ id: t.id, dependsOn: t.dependsOn, weight: taskMs.get(t.id)! }));
  const cp = criticalPath(nodes);
  const plannerMs = replyLatencyMs(RATES.large, planAnswer(goal), scale);
  const singleMs = replyLatencyMs(RATES.large, singleAnswer(goal), scale) + review('all');
  const serialMs = plannerMs + [...taskMs.values()].reduce((a, b) => a + b, 0);
  return { plannerMs, taskMs, criticalPathMs: plannerMs + cp.length, criticalPath: cp.path, singleMs, serialMs };
}

/** Size of the largest set of tasks no two of which are ordered (the most that can ever run at once). */
export function widestAntichain(tasks: ReadonlyArray<{ id: string; dependsOn: readonly string[] }>): number {
  const n = tasks.length;
  if (n > 20) throw new Error('widestAntichain is exponential; keep plans small');
  const anc = tasks.map((t) => transitiveDependencies(tasks, t.id));
  const ordered = tasks.map((_, i) => tasks.map((__, j) => anc[i]!.has(tasks[j]!.id) || anc[j]!.has(tasks[i]!.id)));
  let best = 0;
  for (let mask = 1; mask < 1 << n; mask++) {
    const bits: number[] = [];
    for (let i = 0; i < n; i++) if (mask & (1 << i)) bits.push(i);
    if (bits.length <= best) continue;
    if (bits.every((i, a) => bits.slice(a + 1).every((j) => !ordered[i]![j]))) best = bits.length;
  }
  return best;
}

export function levelsOf(goal: GoalFile): number {
  return topologicalLevels(goal.plan.tasks).length;
}
