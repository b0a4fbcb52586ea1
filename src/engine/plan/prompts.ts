import type { ChatMessage } from '../providers/types';
import { TASK_TYPES } from './schema';

/**
 * The planner's words, kept apart from its control flow so they can be read and tuned alone.
 * Every function returns plain messages; nothing here calls a model.
 */
export function plannerSystemPrompt(maxTasks: number): string {
  return [
    'You are the planner of a team of software agents working in one git repository.',
    'Turn the goal into a small dependency graph of subtasks that developer agents can do independently and in parallel where possible.',
    '',
    'Rules:',
    `- Prefer 3-7 tasks. Never more than ${maxTasks}.`,
    `- Each task has a type: ${TASK_TYPES.join(', ')}.`,
    '- Task ids are short and unique (t1, t2, …). dependsOn lists only ids of other tasks in this plan; never create a cycle.',
    '- Name real files from the repository map in each task\'s "files" (repository-relative paths, no leading "/" or ".."). A new file may be named when a task creates it.',
    '- Each prompt is self-contained: a developer who sees only that task must know what to change and why.',
    '- acceptanceCriteria are checkable statements (tests pass, function X returns Y).',
    '- Tasks that touch the same file should depend on each other, so their patches land in order.',
    '- If something essential is ambiguous, list it in "questions" and state what you would assume in "assumptions"; still give your best plan.',
    '- confidence is your probability (0-1) that this plan achieves the goal.',
    '',
    'Answer with one JSON object matching the plan schema and nothing else.',
  ].join('\n');
}

export function plannerUserPrompt(input: { goal: string; repoMap: string; context?: string; constraints?: string[] }): string {
  const parts = [`Goal:\n${input.goal}`, `Repository map (tracked files, by folder):\n${input.repoMap}`];
  if (input.context && input.context.trim()) parts.push(`Context from the user:\n${input.context.trim()}`);
  if (input.constraints && input.constraints.length > 0) parts.push(`Constraints:\n${input.constraints.map((c) => `- ${c}`).join('\n')}`);
  parts.push('Write the plan.');
  return parts.join('\n\n');
}

/** The model's rejected answer, shortened: enough to see what it wrote, not the whole thing. */
export function echoAnswer(text: string, max = 6000): ChatMessage {
  return { role: 'assistant', content: text.length > max ? `${text.slice(0, max)}\n…(truncated)` : text };
}

/** Sent after an answer that did not parse or validate; lists every error, one per line. */
export function repairPrompt(errors: string[]): string {
  return [
    'That plan was rejected. Problems found:',
    ...errors.map((e) => `- ${e}`),
    '',
    'Return the complete corrected plan as one JSON object. Keep what was right; fix every problem listed.',
  ].join('\n');
}

/** Sent after the user answered some of the plan's questions. */
export function answersPrompt(answered: Array<{ question: string; answer: string }>, unanswered: string[]): string {
  const lines = ['The user answered your questions:'];
  for (const a of answered) lines.push(`- Q: ${a.question}\n  A: ${a.answer}`);
  if (unanswered.length > 0) {
    lines.push('', 'No answer for these; proceed with your stated assumptions:', ...unanswered.map((q) => `- ${q}`));
  }
  lines.push('', 'Write the final plan with tasks. Leave "questions" empty.');
  return lines.join('\n');
}

/** Sent when nobody can answer and the plan had only questions. */
export function proceedPrompt(): string {
  return 'Nobody is available to answer questions. Proceed with your stated assumptions and write the final plan with tasks. Leave "questions" empty.';
}
