import { feedbackSection, type AgentTask, type DependencyResult } from './types';

/**
 * Prompts and JSON schemas for the developer and reviewer roles. The tool protocol is
 * provider-agnostic: every model turn is exactly one JSON object (asked for with `json`),
 * so it works the same on vendors with and without native tool calling.
 */

export const AGENT_ACTION_SCHEMA: Record<string, unknown> = {
  type: 'object',
  properties: {
    action: { type: 'string', enum: ['read_file', 'list_dir', 'search', 'finish'] },
    path: { type: 'string' },
    query: { type: 'string' },
    summary: { type: 'string' },
    files: {
      type: 'array',
      items: { type: 'object', properties: { path: { type: 'string' }, content: { type: 'string' } }, required: ['path', 'content'] },
    },
    deletes: { type: 'array', items: { type: 'string' } },
    patch: { type: 'string' },
  },
  required: ['action'],
};

export const REVIEW_SCHEMA: Record<string, unknown> = {
  type: 'object',
  properties: {
    verdict: { type: 'string', enum: ['approve', 'request_changes'] },
    comments: { type: 'string' },
  },
  required: ['verdict', 'comments'],
};

export function developerSystemPrompt(maxSteps: number): string {
  return [
    'You are a careful software developer working on one subtask of a larger goal in a git repository.',
    'You can read the repository (as it is at your starting point) with tools, then you finish with your change.',
    'Every reply must be exactly ONE JSON object and nothing else, one of:',
    '  {"action":"read_file","path":"src/a.ts"}      read a file (paths are relative to the repository root)',
    '  {"action":"list_dir","path":"src"}            list a folder ("" or "." is the root)',
    '  {"action":"search","query":"someName"}       search the text of all files (fixed string)',
    '  {"action":"finish","summary":"what you did and why","files":[{"path":"src/a.ts","content":"<the whole new file>"}],"deletes":["old.txt"]}',
    '  or finish with "patch": a unified diff (a/ b/ prefixes) against the starting point instead of "files"/"deletes".',
    'With "files", give the COMPLETE new content of every file you change or create.',
    'Change only what the subtask needs. Do not touch files outside the repository.',
    `You have at most ${maxSteps} replies in total, including the finishing one.`,
  ].join('\n');
}

function fence(text: string): string {
  const ticks = text.includes('```') ? '~~~~' : '```';
  return `${ticks}\n${text}${text.endsWith('\n') ? '' : '\n'}${ticks}`;
}

export function developerTaskPrompt(
  task: AgentTask,
  fileContents: Array<{ path: string; content: string | undefined }>,
  deps: DependencyResult[],
): string {
  const parts: string[] = [`# Subtask ${task.id}: ${task.title}`, '', task.prompt];
  if (task.acceptanceCriteria.length > 0) {
    parts.push('', '## Acceptance criteria', ...task.acceptanceCriteria.map((c) => `- ${c}`));
  }
  if (deps.length > 0) {
    parts.push('', '## Work already done by the subtasks this one depends on (already applied to your starting point)');
    for (const d of deps) {
      parts.push('', `### ${d.taskId}: ${d.title}`, d.summary || '(no summary)');
      if (d.patch.trim() !== '') parts.push('Their patch:', fence(d.patch));
    }
  }
  if (fileContents.length > 0) {
    parts.push('', '## Files named by this subtask, as they are at your starting point');
    for (const f of fileContents) {
      parts.push('', `### ${f.path}`, f.content === undefined ? '(does not exist yet)' : fence(f.content));
    }
  }
  if (task.feedback) parts.push('', feedbackSection(task.feedback));
  parts.push('', 'Reply with one JSON object.');
  return parts.join('\n');
}

export function reviewerSystemPrompt(): string {
  return [
    'You review one proposed change for one subtask. Check it against the subtask and its acceptance criteria:',
    'correctness, missing pieces, changes outside the subtask, obvious bugs or security problems.',
    'Reply with exactly one JSON object: {"verdict":"approve"|"request_changes","comments":"short, concrete reasons"}.',
  ].join('\n');
}

export function reviewerPrompt(task: AgentTask, summary: string, patch: string): string {
  const parts = [`# Subtask ${task.id}: ${task.title}`, '', task.prompt];
  if (task.acceptanceCriteria.length > 0) parts.push('', '## Acceptance criteria', ...task.acceptanceCriteria.map((c) => `- ${c}`));
  parts.push('', "## The developer's summary", summary || '(none)', '', '## The proposed patch', patch.trim() === '' ? '(empty: no file changes)' : fence(patch));
  return parts.join('\n');
}
