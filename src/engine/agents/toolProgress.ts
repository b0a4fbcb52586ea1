import path from 'node:path';

const MAX = 120;

/** The first line of `s`, cut to 120 characters, for a progress line. */
export function firstLine(s: string): string {
  const line = s.trim().split('\n')[0] ?? '';
  return line.length > MAX ? `${line.slice(0, MAX - 1)}…` : line;
}

/** Reading the agents' JSON-lines streams: loose, so a newer agent's extra fields never break it. */
export type Json = Record<string, unknown>;
export const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
export const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
export const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** One stream line as a JSON object, or undefined when it is not one (agents print other lines too). */
export function jsonObject(line: string): Json | undefined {
  try {
    const v: unknown = JSON.parse(line);
    return isObj(v) ? v : undefined;
  } catch {
    return undefined;
  }
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
      return `running ${firstLine(str('command') ?? '')}`.trim();
    case 'Glob':
    case 'Grep':
      return `searching ${firstLine(str('pattern') ?? '')}`.trim();
    default:
      return `using ${name}`;
  }
}
