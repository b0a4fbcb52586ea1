import type { ChangeVerification } from '../../api';
import { verificationOf, verificationText } from '../../changes/verification';
import { isEngineError } from '../../errors';
import type { ToolCall } from '../../providers/types';
import { decideCommand, parseCommandLine, type AllowListInput } from './allowList';
import { runAllowedCommand } from './runner';
import type { Workspace } from './workspace';

/**
 * Runs one tool call of the built-in developer and says what happened, as the answer the
 * model gets. A refused or failed tool is an error answer (`isError`), never a task failure;
 * only `cancelled` and unexpected errors propagate.
 */
export interface ToolState {
  ws: Workspace;
  allow: AllowListInput;
  /** The task's check command (configured or the plan's `verify`), if any. */
  checkCommand: string | undefined;
  /** The check is the user's configured command, run as they wrote it (a shell line); a plan's `verify` runs as argv. */
  checkInShell: boolean;
  timeoutMs: number;
  signal: AbortSignal;
  /** A file was changed since the check last ran. */
  dirty: boolean;
  /** Any file was changed in this task. */
  edited: boolean;
  /** The last run of the check command. */
  verification: ChangeVerification | undefined;
  /** Finishes that were refused because the check failed. */
  failedFinishes: number;
  onOutput: (text: string) => void;
  onProgress: (text: string) => void;
}

export type ToolAnswer = { content: string; isError: boolean; finish?: { summary: string } };

const obj = (input: unknown): Record<string, unknown> => (input && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const int = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined);

export async function runToolCall(s: ToolState, call: ToolCall): Promise<ToolAnswer> {
  const a = obj(call.input);
  try {
    switch (call.name) {
      case 'read_file':
        s.onProgress(`reading ${str(a.path) ?? '?'}`);
        return ok(await s.ws.readFile(a.path, int(a.offset), int(a.limit)));
      case 'list_dir':
        s.onProgress(`listing ${str(a.path) || '(root)'}`);
        return ok(await s.ws.listDir(a.path ?? ''));
      case 'search':
        s.onProgress(`searching ${str(a.pattern) ?? ''}`);
        return ok(await s.ws.search(a.pattern, a.path));
      case 'edit_file':
        s.onProgress(`editing ${str(a.path) ?? '?'}`);
        return changed(s, await s.ws.editFile(a.path, a.old_string, a.new_string, a.replace_all));
      case 'write_file':
        s.onProgress(`writing ${str(a.path) ?? '?'}`);
        return changed(s, await s.ws.writeFile(a.path, a.content));
      case 'delete_file':
        s.onProgress(`deleting ${str(a.path) ?? '?'}`);
        return changed(s, await s.ws.deleteFile(a.path));
      case 'run_command':
        return await runCommand(s, str(a.command) ?? '');
      case 'finish':
        return await finish(s, str(a.summary) ?? '');
      default:
        return { content: `there is no tool "${call.name}"; the tools are read_file, list_dir, search, edit_file, write_file, delete_file, run_command and finish`, isError: true };
    }
  } catch (e) {
    if (isEngineError(e, 'agent/')) return { content: e.message, isError: true };
    throw e;
  }
}

const ok = (content: string): ToolAnswer => ({ content, isError: false });

function changed(s: ToolState, content: string): ToolAnswer {
  s.dirty = true;
  s.edited = true;
  return ok(content);
}

/** The check command as the user configured it runs as they wrote it (through the shell); anything else is argv. */
function isCheck(s: ToolState, line: string): boolean {
  if (!s.checkCommand) return false;
  if (line.trim() === s.checkCommand.trim()) return true;
  const a = parseCommandLine(line);
  const b = parseCommandLine(s.checkCommand);
  return a.ok && b.ok && a.argv.length === b.argv.length && a.argv.every((w, i) => w === b.argv[i]);
}

async function runCommand(s: ToolState, line: string): Promise<ToolAnswer> {
  const check = isCheck(s, line);
  let argv: string[];
  const parsed = parseCommandLine(s.checkCommand ?? '');
  if (check && s.checkInShell) argv = [s.checkCommand!];
  else if (check && parsed.ok) argv = parsed.argv;
  else {
    const d = decideCommand(line, s.allow);
    if (!d.allowed) return { content: `command refused: ${d.reason}`, isError: true };
    argv = d.argv;
  }
  s.onProgress(`running ${check ? s.checkCommand : line}`);
  // The first command is what makes a workspace over the tree check it out (with the edits so far).
  const cwd = await s.ws.materialize();
  const r = await runAllowedCommand(argv, { cwd, timeoutMs: s.timeoutMs, signal: s.signal, shell: check && s.checkInShell, onOutput: s.onOutput });
  if (s.signal.aborted) throw s.signal.reason;
  if (check) {
    s.verification = verificationOf(s.checkCommand!, r);
    s.dirty = false;
  }
  const head = r.startError !== undefined
    ? `could not start: ${r.startError}`
    : r.timedOut ? `timed out after ${Math.round(s.timeoutMs / 1000)} s and was stopped` : `exit code ${r.exitCode} (${(r.durationMs / 1000).toFixed(1)} s)`;
  return { content: `${head}\n${r.output}`.trimEnd(), isError: false };
}

/**
 * Ends the task, after the check when there is one and the files changed since it last ran.
 * A failing check sends the model back once to fix it; a second finish hands the change in
 * marked as failing its check (the user and the reviewer see that).
 */
async function finish(s: ToolState, summary: string): Promise<ToolAnswer> {
  let output = '';
  if (s.checkCommand && s.edited && (s.dirty || s.verification === undefined)) {
    output = (await runCommand(s, s.checkCommand)).content;
    if (s.verification?.passed) return { content: `check passed\n${output}`, isError: false, finish: { summary } };
  } else if (!s.checkCommand || !s.edited || s.verification?.passed) {
    return { content: 'finished', isError: false, finish: { summary } };
  }
  if (s.failedFinishes >= 1) return { content: 'finished with a failing check', isError: false, finish: { summary } };
  s.failedFinishes++;
  return {
    content: `not finished: the check failed. ${verificationText(s.verification!)}\nFix the cause and finish again; finishing again without a fix hands the change in marked as failing its check.${output ? `\n${output}` : ''}`,
    isError: true,
  };
}
