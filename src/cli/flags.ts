import { EngineError } from '../engine/errors';

/** Every option the parser knows. No defaults here: "not given" must stay distinguishable. */
export const OPTIONS = {
  repo: { type: 'string' },
  json: { type: 'boolean' },
  approve: { type: 'string' },
  provider: { type: 'string' },
  model: { type: 'string' },
  agent: { type: 'string' },
  'base-url': { type: 'string' },
  recordings: { type: 'string' },
  check: { type: 'string' },
  config: { type: 'string' },
  'trust-config': { type: 'boolean' },
  limit: { type: 'string' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  comment: { type: 'string' },
  file: { type: 'string' },
  line: { type: 'string' },
  redis: { type: 'string' },
  concurrency: { type: 'string' },
  agents: { type: 'string' },
  name: { type: 'string' },
  remote: { type: 'string' },
  'lock-ms': { type: 'string' },
  checks: { type: 'boolean' },
} as const;

export type FlagName = keyof typeof OPTIONS;

/** Flags every command takes: where the repo is, how to print, and which config to read. */
const COMMON: readonly FlagName[] = ['repo', 'json', 'verbose', 'help', 'config', 'trust-config'];
/** Flags that choose the model; only commands that may call a model take them. */
const MODELS: readonly FlagName[] = ['provider', 'model', 'base-url', 'recordings'];

/**
 * Which flags each command accepts, with how many positional arguments it takes. A flag that
 * a command would ignore is refused (exit 2) instead: `request --model x` once dropped the
 * model silently. README's flag table is this table.
 */
export const COMMANDS: Record<string, { flags: readonly FlagName[]; args: string[] }> = {
  plan: { flags: [...COMMON, ...MODELS, 'agent'], args: ['"<goal>"'] },
  run: { flags: [...COMMON, ...MODELS, 'agent', 'approve', 'check', 'redis'], args: ['"<goal>"'] },
  request: { flags: [...COMMON, ...MODELS, 'agent', 'approve', 'check', 'redis'], args: ['<file>'] },
  status: { flags: COMMON, args: [] },
  history: { flags: [...COMMON, 'limit'], args: [] },
  'queue list': { flags: COMMON, args: [] },
  // Approving and retrying may regenerate a conflicting change (a developer model) and land it (the check).
  'queue approve': { flags: [...COMMON, ...MODELS, 'check'], args: ['<change-id>'] },
  'queue retry': { flags: [...COMMON, ...MODELS, 'check'], args: ['<entry-id>'] },
  'queue revert': { flags: [...COMMON, 'check'], args: ['<change-id>'] },
  'queue reject': { flags: COMMON, args: ['<change-id>'] },
  'runs delete': { flags: COMMON, args: ['<run-id>'] },
  summary: { flags: COMMON, args: ['<run-id>'] },
  transcript: { flags: COMMON, args: ['<run-id>', '<task-id>'] },
  // Review comments: `comment` stores one, `request-changes` sends them to the task's agent (a model call).
  comment: { flags: [...COMMON, 'comment', 'file', 'line'], args: ['<change-id>'] },
  'request-changes': { flags: [...COMMON, ...MODELS, 'comment', 'file', 'line'], args: ['<change-id>'] },
  // Distributed agent tasks (issue 13): a worker process, and the list of live workers.
  worker: { flags: [...COMMON, 'redis', 'concurrency', 'agents', 'name', 'remote', 'lock-ms', 'checks'], args: [] },
  workers: { flags: [...COMMON, 'redis'], args: [] },
};

export interface ParsedCommand {
  /** A key of COMMANDS. */
  name: string;
  args: string[];
}

/**
 * Resolves positionals to a command of the table and checks its flags and argument count.
 * Throws `usage/command` for an unknown command, `usage/flag` for a flag the command does not
 * take, `usage/missing-argument` / `usage/extra-argument` for a wrong number of arguments.
 */
export function resolveCommand(positionals: string[], given: Partial<Record<FlagName, unknown>>): ParsedCommand {
  const [first, ...rest] = positionals;
  let name: string;
  let args: string[];
  if (first === 'queue') {
    name = `queue ${rest[0] ?? 'list'}`;
    args = rest.slice(1);
    if (!COMMANDS[name]) throw new EngineError('usage/queue', `unknown queue action "${rest[0]}": use list, approve, reject, retry or revert`);
  } else if (first === 'runs') {
    name = `runs ${rest[0] ?? ''}`.trim();
    args = rest.slice(1);
    if (!COMMANDS[name]) throw new EngineError('usage/command', `unknown runs action "${rest[0] ?? ''}": use "runs delete <run-id>"`);
  } else {
    name = first ?? '';
    args = rest;
    if (!COMMANDS[name]) throw new EngineError('usage/command', `unknown command "${first}"; run "hyperion --help"`);
  }
  const spec = COMMANDS[name];
  for (const [flag, value] of Object.entries(given)) {
    if (value === undefined) continue;
    if (!spec.flags.includes(flag as FlagName)) {
      throw new EngineError('usage/flag', `${name} does not take --${flag} (it takes ${spec.flags.filter((f) => f !== 'help').map((f) => `--${f}`).join(', ')})`);
    }
  }
  const usage = `hyperion ${name}${spec.args.length ? ` ${spec.args.join(' ')}` : ''}`;
  if (args.length < spec.args.length || args.slice(0, spec.args.length).some((a) => a.trim() === '')) {
    throw new EngineError('usage/missing-argument', `missing argument: ${usage}`);
  }
  if (args.length > spec.args.length) {
    throw new EngineError('usage/extra-argument', `unexpected argument "${args[spec.args.length]}": ${usage}${spec.args.some((a) => a.startsWith('"')) ? ' (quote a goal with spaces)' : ''}`);
  }
  return { name, args };
}

/** `--limit N`: a positive integer, else `usage/flag`. */
export function limitFlag(v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new EngineError('usage/flag', `--limit must be a whole number from 1 to 100000, not "${v}"`);
  return n;
}
