/**
 * Which commands the built-in developer may run, and how a command line becomes argv.
 *
 * Commands never go through a shell: the line is split into words (quotes and backslashes
 * as a POSIX shell reads them) and any shell syntax (`;`, `&&`, `|`, `>`, `$(…)`, backticks,
 * globs, `~`) is refused before the allow list is even consulted, so `npm test; rm -rf ~`
 * cannot pass as `npm test`.
 */

export type ParsedCommand = { ok: true; argv: string[] } | { ok: false; error: string };

const OPERATORS = new Set([';', '&', '|', '<', '>', '(', ')', '`']);

/** Splits a command line into words, refusing every shell feature that is not quoting. */
export function parseCommandLine(line: string): ParsedCommand {
  if (typeof line !== 'string' || line.trim() === '') return { ok: false, error: 'the command is empty' };
  if (line.length > 2000) return { ok: false, error: 'the command is longer than 2000 characters' };
  if (/[\0\r\n]/.test(line)) return { ok: false, error: 'the command has a line break or NUL; run one command at a time' };
  const argv: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else word += ch;
      continue;
    }
    if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === '$' || ch === '`') return { ok: false, error: `"${ch}" expansions are not supported (commands run without a shell)` };
      else if (ch === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!)) word += line[++i];
      else word += ch;
      continue;
    }
    if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
      continue;
    }
    if (ch === '\\') {
      if (i + 1 >= line.length) return { ok: false, error: 'the command ends with a backslash' };
      word += line[++i];
      inWord = true;
      continue;
    }
    if (ch === ' ' || ch === '\t') {
      if (inWord) argv.push(word);
      word = '';
      inWord = false;
      continue;
    }
    if (OPERATORS.has(ch)) return { ok: false, error: `"${ch}" is shell syntax; run one plain command at a time (commands run without a shell)` };
    if (ch === '$') return { ok: false, error: '"$" expansions are not supported (commands run without a shell)' };
    if ((ch === '*' || ch === '?' || ch === '[') && !quote) return { ok: false, error: `"${ch}" globs are not expanded (commands run without a shell); name the files` };
    if (ch === '~' && !inWord) return { ok: false, error: '"~" is not expanded (commands run without a shell)' };
    word += ch;
    inWord = true;
  }
  if (quote) return { ok: false, error: 'the command has an unclosed quote' };
  if (inWord) argv.push(word);
  if (argv.length === 0) return { ok: false, error: 'the command is empty' };
  if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(argv[0]!)) return { ok: false, error: 'environment assignments are not supported; run the command itself' };
  return { ok: true, argv };
}

/** Read-only git subcommands, with the options that would make them write refused below. */
const GIT_READ_ONLY = new Set(['status', 'diff', 'log', 'show', 'ls-files', 'grep', 'blame', 'rev-parse', 'branch', 'shortlog', 'describe', 'cat-file', 'ls-tree']);
const GIT_WRITING_OPTIONS = /^--(?:output|ext-diff|exec|upload-pack|open-files-in-pager)\b|^-O|^--no-index$/;

export interface AllowListInput {
  /** The task's check command, when it has one (configured `checkCommand` or the plan's `verify`). */
  checkCommand?: string;
  /** Script names of the worktree's package.json. */
  packageScripts: readonly string[];
  /** `agent.allowedCommands`. */
  extra?: readonly string[];
}

export type AllowDecision = { allowed: true; argv: string[] } | { allowed: false; reason: string };

function words(line: string): string[] | undefined {
  const p = parseCommandLine(line);
  return p.ok ? p.argv : undefined;
}

/** True when `argv` starts with every word of `prefix`. */
function startsWith(argv: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length > 0 && prefix.length <= argv.length && prefix.every((w, i) => argv[i] === w);
}

/**
 * Whether `line` may run. Allowed: the check command exactly, `npm test`, `npm run <script>`
 * for the package's own scripts (more arguments after `--` pass to the script), `pytest`,
 * `go test`, `cargo test`, read-only git, and the configured extras (exactly, or with more
 * arguments). Every refusal says why and what is allowed.
 */
export function decideCommand(line: string, input: AllowListInput): AllowDecision {
  const parsed = parseCommandLine(line);
  if (!parsed.ok) return { allowed: false, reason: parsed.error };
  const argv = parsed.argv;
  const check = input.checkCommand ? words(input.checkCommand) : undefined;
  if (check && startsWith(argv, check) && argv.length === check.length) return { allowed: true, argv };
  for (const extra of input.extra ?? []) {
    const w = words(extra);
    if (w && startsWith(argv, w)) return { allowed: true, argv };
  }
  const [cmd, sub, ...rest] = argv;
  const scripts = new Set(input.packageScripts);
  if (cmd === 'npm' || cmd === 'pnpm' || cmd === 'yarn') {
    if ((sub === 'test' || sub === 't') && scripts.has('test') && argsAfterSeparatorOnly(rest)) return { allowed: true, argv };
    if (sub === 'run' && rest[0] !== undefined && scripts.has(rest[0]) && argsAfterSeparatorOnly(rest.slice(1))) return { allowed: true, argv };
  }
  if (cmd === 'pytest' || (cmd === 'python' && sub === '-m' && rest[0] === 'pytest') || (cmd === 'python3' && sub === '-m' && rest[0] === 'pytest')) return { allowed: true, argv };
  if (cmd === 'go' && (sub === 'test' || sub === 'vet')) {
    // `-exec` and `-toolexec` run any program of the caller's choosing.
    if (rest.some((a) => /^--?(?:exec|toolexec)\b/.test(a))) return { allowed: false, reason: `go ${sub} -exec/-toolexec can run any program; leave them out` };
    return { allowed: true, argv };
  }
  if (cmd === 'cargo' && (sub === 'test' || sub === 'check' || sub === 'clippy')) return { allowed: true, argv };
  if (cmd === 'git' && sub !== undefined && GIT_READ_ONLY.has(sub)) {
    const bad = rest.find((a) => GIT_WRITING_OPTIONS.test(a));
    if (bad !== undefined) return { allowed: false, reason: `git ${sub} ${bad} can write or run programs; only read-only git is allowed` };
    if (sub === 'branch' && rest.some((a) => !a.startsWith('-') || /^-(?:[dDmMcC]|-delete|-move|-copy|-force|-set-upstream|-unset-upstream|-edit-description)/.test(a))) {
      return { allowed: false, reason: 'git branch may only list branches here' };
    }
    return { allowed: true, argv };
  }
  const scriptList = [...scripts].slice(0, 12).map((s) => (s === 'test' ? 'npm test' : `npm run ${s}`));
  const allowed = [...(input.checkCommand ? [input.checkCommand] : []), ...scriptList, 'pytest', 'go test ./...', 'cargo test', 'read-only git (status, diff, log, show, grep, …)', ...(input.extra ?? [])];
  return { allowed: false, reason: `"${argv[0]}${argv[1] ? ` ${argv[1]}` : ''}" is not on the allow list. Allowed: ${[...new Set(allowed)].join(', ')}` };
}

/** npm passes arguments to a script only after `--`; anything before it is an npm option, which could change what runs. */
function argsAfterSeparatorOnly(rest: readonly string[]): boolean {
  return rest.length === 0 || rest[0] === '--';
}
