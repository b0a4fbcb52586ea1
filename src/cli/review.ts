import type { Engine, NewComment } from '../engine/api';
import { EngineError } from '../engine/errors';
import { EXIT } from './output';

interface ReviewFlags {
  comment?: string;
  file?: string;
  line?: string;
  json?: boolean;
}

/** The comment the flags describe, or undefined without `--comment`. Throws `usage/flag` for `--file`/`--line` without it. */
export function commentFromFlags(flags: ReviewFlags): NewComment | undefined {
  if (flags.comment === undefined) {
    if (flags.file !== undefined || flags.line !== undefined) throw new EngineError('usage/flag', '--file and --line place a --comment; give the comment with --comment "<text>"');
    return undefined;
  }
  let line: number | undefined;
  if (flags.line !== undefined) {
    line = Number(flags.line);
    if (!/^\d+$/.test(flags.line) || line < 1) throw new EngineError('usage/flag', `--line must be a line number (1 or more), not "${flags.line}"`);
    if (flags.file === undefined) throw new EngineError('usage/flag', '--line needs --file: the file the line is in');
  }
  return { body: flags.comment, ...(flags.file !== undefined ? { path: flags.file } : {}), ...(line !== undefined ? { line } : {}) };
}

/**
 * `comment <change-id>` stores a comment; `request-changes <change-id>` sends the unsent ones
 * (and the one the flags give) to the task's agent and prints the new version.
 */
export async function reviewCommand(engine: Engine, name: string, changeId: string, flags: ReviewFlags, out: (o: unknown) => void, signal: AbortSignal): Promise<number> {
  const comment = commentFromFlags(flags);
  if (name === 'comment') {
    if (!comment) throw new EngineError('usage/missing-argument', 'comment needs --comment "<text>"');
    const c = engine.addComment(changeId, comment);
    if (flags.json) out({ comment: c });
    else process.stdout.write(`Comment ${c.id} on ${c.path ?? 'the whole change'}${c.line ? ` line ${c.line}` : ''} (v${c.version}); send it with: hyperion request-changes ${changeId}\n`);
    return EXIT.ok;
  }
  const before = engine.getChange(changeId);
  const { version } = await engine.requestChanges(changeId, { comments: comment ? [comment] : [], version: before?.version, signal });
  const change = engine.getChange(changeId)!;
  const answered = engine.listComments(changeId).filter((c) => c.answeredInVersion === version);
  if (flags.json) out({ changeId, version, status: change.status, summary: change.summary, files: change.files, answered });
  else {
    process.stdout.write(`Change ${changeId} is now v${version} (${change.status}): ${change.summary}\n`);
    for (const c of answered) process.stdout.write(`  answered: ${c.path ?? 'whole change'}${c.line ? `:${c.line}` : ''} "${c.body}"\n`);
    process.stdout.write(`Approve it with: hyperion queue approve ${changeId}\n`);
  }
  return EXIT.ok;
}
