import type { DraftTaskFields, RunnablePlan } from '../../engine/api';
import { TASK_TYPES } from '../../engine/plan/schema';

/** `hyperion.planReview`: when a new plan waits as a draft before it runs. */
export type PlanReviewMode = 'always' | 'never' | 'whenUnclear';

export function planReviewMode(value: unknown): PlanReviewMode {
  return value === 'always' || value === 'never' ? value : 'whenUnclear';
}

/**
 * True when the plan should wait as a draft: always, never, or (the default) when the
 * planner said something is unclear (it asked questions or made assumptions).
 */
export function needsDraftReview(mode: PlanReviewMode, plan: Pick<RunnablePlan, 'questions' | 'assumptions'>): boolean {
  if (mode === 'always') return true;
  if (mode === 'never') return false;
  return plan.questions.length > 0 || plan.assumptions.length > 0;
}

/** The sentence that tells the user a draft is waiting, and why it was not started. */
export function draftNotice(plan: Pick<RunnablePlan, 'tasks' | 'questions' | 'assumptions'>, mode: PlanReviewMode): string {
  const n = plan.tasks.length;
  const why = mode === 'always'
    ? ''
    : ` The planner ${[plan.questions.length > 0 ? `asked ${plan.questions.length} question(s)` : '', plan.assumptions.length > 0 ? `made ${plan.assumptions.length} assumption(s): ${plan.assumptions.slice(0, 2).join('; ')}` : ''].filter(Boolean).join(' and ')}.`;
  return `The plan (${n} task${n === 1 ? '' : 's'}) is a draft.${why} Edit it in the Task Graph or the Runs tree, then Start Run.`;
}

/** A field of a draft task the edit picker offers, with how its value reads and is typed back. */
export interface DraftField {
  key: keyof DraftTaskFields;
  label: string;
  /** The current value as the input box shows it. */
  value: string;
  /** `list`: one item per line or comma; `choice`: one of `choices`. */
  kind: 'text' | 'list' | 'choice' | 'optional';
  choices?: readonly string[];
}

export function draftFields(task: { title: string; prompt: string; acceptanceCriteria: string[]; files: string[]; type: string; agent?: string; model?: string }): DraftField[] {
  return [
    { key: 'title', label: 'Title', value: task.title, kind: 'text' },
    { key: 'prompt', label: 'Prompt', value: task.prompt, kind: 'text' },
    { key: 'acceptanceCriteria', label: 'Acceptance criteria', value: task.acceptanceCriteria.join('; '), kind: 'list' },
    { key: 'files', label: 'Files', value: task.files.join(', '), kind: 'list' },
    { key: 'type', label: 'Type', value: task.type, kind: 'choice', choices: TASK_TYPES },
    { key: 'agent', label: 'Agent', value: task.agent ?? '', kind: 'optional' },
    { key: 'model', label: 'Model (for the agent)', value: task.model ?? '', kind: 'optional' },
  ];
}

/** Turns what the user typed for `field` into the edit's fields; lists split on `;` (criteria) or `,` and newlines (files). */
export function fieldEdit(field: DraftField, typed: string): DraftTaskFields {
  switch (field.kind) {
    case 'text': return { [field.key]: typed } as DraftTaskFields;
    case 'list': {
      const sep = field.key === 'acceptanceCriteria' ? /[;\n]/ : /[,\n]/;
      return { [field.key]: typed.split(sep).map((s) => s.trim()).filter((s) => s.length > 0) } as DraftTaskFields;
    }
    case 'choice': return { [field.key]: typed } as DraftTaskFields;
    case 'optional': return { [field.key]: typed.trim() === '' ? null : typed.trim() } as DraftTaskFields;
  }
}
