import type { ToolSpec } from '../../providers/types';

/** The built-in developer's tools as the model sees them. Names and inputs are a public contract (issue 11). */
export const DEVELOPER_TOOLS: ToolSpec[] = [
  {
    name: 'read_file',
    description: 'Read a text file of the repository, as numbered lines ("12<TAB>text"; the numbers are not part of the file). Long files come in parts: use offset and limit.',
    inputSchema: {
      type: 'object',
      properties: {
        path: { type: 'string', description: 'relative to the repository root' },
        offset: { type: 'integer', description: 'first line to show, 1-based (default 1)' },
        limit: { type: 'integer', description: 'how many lines (default and at most 400)' },
      },
      required: ['path'],
    },
  },
  {
    name: 'list_dir',
    description: 'List a folder of the repository ("" or "." is the root); folders end with "/".',
    inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
  },
  {
    name: 'search',
    description: 'Search the repository files with a regular expression (POSIX extended, as grep -E); answers file:line:text, bounded.',
    inputSchema: {
      type: 'object',
      properties: { pattern: { type: 'string' }, path: { type: 'string', description: 'a folder or file to search in (default: everything)' } },
      required: ['pattern'],
    },
  },
  {
    name: 'edit_file',
    description:
      'Replace old_string with new_string in a file. old_string must match exactly one place (copy it from the file, without line numbers, with enough surrounding lines to be unique), unless replace_all is true. If it matches no place or several, the answer says which and shows the closest candidates.',
    inputSchema: {
      type: 'object',
      properties: { path: { type: 'string' }, old_string: { type: 'string' }, new_string: { type: 'string' }, replace_all: { type: 'boolean' } },
      required: ['path', 'old_string', 'new_string'],
    },
  },
  {
    name: 'write_file',
    description: 'Create a file, or overwrite one with the complete new content. Prefer edit_file for changes to an existing file.',
    inputSchema: { type: 'object', properties: { path: { type: 'string' }, content: { type: 'string' } }, required: ['path', 'content'] },
  },
  {
    name: 'delete_file',
    description: 'Delete a file of the repository.',
    inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
  },
  {
    name: 'run_command',
    description:
      'Run one command in the repository (no shell: no ;, &&, |, >, $VAR or globs). Allowed: the check command, the package\'s own test and lint scripts (npm test, npm run <script>), pytest, go test, cargo test, read-only git, and what the user allowed. Answers the exit code and the output (head and tail).',
    inputSchema: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] },
  },
  {
    name: 'finish',
    description: 'End the task. Your change is what you edited in the repository. When the task has a check command, it runs first if you have not run it since your last edit.',
    inputSchema: { type: 'object', properties: { summary: { type: 'string', description: 'what you changed and why, for the reviewer' } }, required: ['summary'] },
  },
];
