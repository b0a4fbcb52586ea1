import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import { EngineError } from '../errors';
import type { Db } from '../store/types';

/**
 * Which process drives a run (its scheduler loop runs there), so that another process on the
 * same store (the CLI while the editor is open, or the editor reopened while the CLI runs)
 * neither requeues that run's running tasks as "interrupted" nor resumes the run a second time.
 *
 * `runs.runner` holds `<host>:<pid>/<token>` while a loop drives the run, and is cleared when
 * the loop ends. A runner left by a process that died (same host, pid gone) counts as none,
 * so crash recovery still resumes its runs. A runner on another host is taken as alive: its
 * process cannot be checked from here, and stealing a live run would run its agents twice.
 */

/** Tokens of the run loops alive in this process (several engines may share one process). */
const liveHere = new Set<string>();

/** Parses a runner; undefined for null or a value this Hyperion did not write. */
function parse(runner: string | null | undefined): { host: string; pid: number; token: string } | undefined {
  const m = runner ? /^(.*):(\d+)\/([0-9a-f]+)$/.exec(runner) : null;
  return m ? { host: m[1]!, pid: Number(m[2]), token: m[3]! } : undefined;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when `runner` is a live loop of another engine (another process, or another engine of this one). */
export function drivenElsewhere(runner: string | null | undefined): boolean {
  const r = parse(runner);
  if (!r) return false;
  if (r.host !== os.hostname()) return true;
  if (r.pid === process.pid) return liveHere.has(r.token);
  return pidAlive(r.pid);
}

/** The runner of `runId` when a live loop elsewhere drives it, for messages; else undefined. */
export function otherRunner(db: Db, runId: string): string | undefined {
  const row = db.get<{ runner: string | null }>('SELECT runner FROM runs WHERE id = ?', [runId]);
  return row && drivenElsewhere(row.runner) ? row.runner! : undefined;
}

/** The error for acting on a run another process drives (`usage/bad-state`). */
export function drivenElsewhereError(runId: string, runner: string, what: string): EngineError {
  const r = parse(runner)!;
  return new EngineError('usage/bad-state', `run ${runId} is being run by another Hyperion process (pid ${r.pid} on ${r.host}); ${what} there, or once it has ended`, { details: { runId, runner } });
}

/**
 * Marks `runId` as driven by a new loop of this process; returns the release, which clears the
 * mark if it is still this loop's. Throws `usage/bad-state` when a live loop elsewhere drives it.
 */
export function claimRun(db: Db, runId: string): () => void {
  const token = randomBytes(8).toString('hex');
  const me = `${os.hostname()}:${process.pid}/${token}`;
  db.transaction(() => {
    const busy = otherRunner(db, runId);
    if (busy) throw drivenElsewhereError(runId, busy, 'it goes on');
    db.run('UPDATE runs SET runner = ? WHERE id = ?', [me, runId]);
  });
  liveHere.add(token);
  return () => {
    liveHere.delete(token);
    try {
      db.run('UPDATE runs SET runner = NULL WHERE id = ? AND runner = ?', [runId, me]);
    } catch {
      // A closed or read-only store: the mark names a loop that has ended, which counts as none.
    }
  };
}

/** Runs left `running` or `planning` that no live loop elsewhere drives: the ones to resume. */
export function runsToResume(db: Db): string[] {
  return db
    .all<{ id: string; runner: string | null }>("SELECT id, runner FROM runs WHERE status IN ('running', 'planning') ORDER BY created_at")
    .filter((r) => !drivenElsewhere(r.runner))
    .map((r) => r.id);
}
