import type { AgentTask, DependencyResult } from '../types';

/** The words of the tool-using developer; nothing here calls a model. */
export function toolDeveloperSystemPrompt(o: { maxSteps: number; checkCommand?: string }): string {
  return [
    'You are a careful software developer working on one subtask of a larger goal, in a git working tree of the project.',
    'Work with the tools: read and search the code, change it with edit_file (small exact replacements) or write_file (new files), run the tests with run_command, and call finish with a short summary when done.',
    'Prefer edit_file over rewriting files. You may call several tools in one reply; they run in order.',
    'Paths are relative to the repository root. Change only what the subtask needs. Do not commit.',
    o.checkCommand
      ? `This task is checked with \`${o.checkCommand}\`: run it after your edits and fix what fails before you finish (finish runs it for you if you have not since your last edit).`
      : 'Run the project\'s tests when there are any that cover your change.',
    `You have at most ${o.maxSteps} replies.`,
  ].join('\n');
}

function fence(text: string): string {
  const ticks = text.includes('```') ? '~~~~' : '```';
  return `${ticks}\n${text}${text.endsWith('\n') ? '' : '\n'}${ticks}`;
}

/**
 * The task, what its dependencies did (their changes are already in the working tree, so
 * their summaries and file lists, not their patches), and the named files as they are now.
 */
export function toolDeveloperTaskPrompt(task: AgentTask, files: Array<{ path: string; content: string | undefined }>, deps: readonly DependencyResult[]): string {
  const parts: string[] = [`# Subtask ${task.id}: ${task.title}`, '', task.prompt];
  if (task.acceptanceCriteria.length > 0) parts.push('', '## Acceptance criteria', ...task.acceptanceCriteria.map((c) => `- ${c}`));
  if (deps.length > 0) {
    parts.push('', '## Already done by the subtasks this one depends on (in your working tree)');
    for (const d of deps) {
      const changed = [...new Set([...d.patch.matchAll(/^diff --git a\/(\S+)/gm)].map((m) => m[1]))];
      parts.push('', `### ${d.taskId}: ${d.title}`, d.summary.slice(0, 2000) || '(no summary)');
      if (changed.length > 0) parts.push(`Files changed: ${changed.join(', ')}`);
    }
  }
  if (files.length > 0) {
    parts.push('', '## Files named by this subtask, as they are now');
    for (const f of files) parts.push('', `### ${f.path}`, f.content === undefined ? '(does not exist yet)' : fence(f.content));
  }
  return parts.join('\n');
}
