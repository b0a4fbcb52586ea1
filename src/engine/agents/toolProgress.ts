import path from 'node:path';

const MAX = 120;

function short(s: string): string {
  const line = s.trim().split('\n')[0] ?? '';
  return line.length > MAX ? `${line.slice(0, MAX - 1)}…` : line;
}

/** A path as the user knows it: relative to the worktree when inside it. */
export function shownPath(file: string, cwd: string): string {
  if (!path.isAbsolute(file)) return file;
  const rel = path.relative(cwd, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : file;
}

/**
 * One line for the task's row saying what an agent's tool call does: "editing src/a.ts",
 * "running npm test". Tool names are Claude Code's; unknown tools read "using <name>".
 */
export function toolProgress(name: string, input: Record<string, unknown>, cwd: string): string {
  const str = (k: string) => (typeof input[k] === 'string' ? (input[k] as string) : undefined);
  const file = str('file_path') ?? str('notebook_path') ?? str('path');
  switch (name) {
    case 'Write':
    case 'Edit':
    case 'MultiEdit':
    case 'NotebookEdit':
      return file ? `editing ${shownPath(file, cwd)}` : `editing (${name})`;
    case 'Read':
      return file ? `reading ${shownPath(file, cwd)}` : 'reading';
    case 'Bash':
      return `running ${short(str('command') ?? '')}`.trim();
    case 'Glob':
    case 'Grep':
      return `searching ${short(str('pattern') ?? '')}`.trim();
    default:
      return `using ${name}`;
  }
}
