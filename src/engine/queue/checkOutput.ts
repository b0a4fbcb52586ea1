import type { CheckOutputView } from '../api';
import type { Db } from '../store/types';

/**
 * What a check command printed, kept per landing attempt so "check failed" can say what failed:
 * bounded head and tail of the output, and the first lines that name the failure.
 */

/** Output kept per attempt: the first HEAD_BYTES and the last TAIL_BYTES (about 1 MB in all). */
export const HEAD_BYTES = 256 * 1024;
export const TAIL_BYTES = 768 * 1024;
/** Attempts whose output is kept per entry; older ones are dropped when a new one is stored. */
const KEEP_ATTEMPTS = 3;
const MAX_FAILING_LINES = 8;
const MAX_LINE = 300;

/** Collects a stream's bytes as head + tail, never holding more than HEAD_BYTES + TAIL_BYTES (+ one chunk). */
export class BoundedOutput {
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private total = 0;

  constructor(private readonly headMax = HEAD_BYTES, private readonly tailMax = TAIL_BYTES) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.headBytes < this.headMax) {
      const take = chunk.subarray(0, this.headMax - this.headBytes);
      this.head.push(take);
      this.headBytes += take.length;
      chunk = chunk.subarray(take.length);
      if (chunk.length === 0) return;
    }
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    while (this.tailBytes - this.tail[0]!.length >= this.tailMax) this.tailBytes -= this.tail.shift()!.length;
  }

  /** The kept text; `truncated` when bytes between head and tail were dropped. */
  text(): { output: string; truncated: boolean } {
    let tail = Buffer.concat(this.tail);
    if (tail.length > this.tailMax) tail = tail.subarray(tail.length - this.tailMax);
    const omitted = this.total - this.headBytes - tail.length;
    const head = Buffer.concat(this.head).toString('utf8');
    if (omitted <= 0) return { output: head + tail.toString('utf8'), truncated: false };
    return { output: `${head}\n[… ${omitted} bytes of output omitted …]\n${tail.toString('utf8')}`, truncated: true };
  }
}

// Lines that say what failed, across the usual runners. Order of appearance is kept.
const FAILING: RegExp[] = [
  /^\s*not ok\b/, // TAP (node --test --test-reporter=tap, tape, prove)
  /^\s*✖\s/, // node:test spec reporter
  /^\s*(?:FAIL|FAILED)\b/, // jest/vitest file lines, pytest summary, go package summary
  /^\s*●\s/, // jest test headers
  /^\s*[×✗]\s/, // vitest, mocha-like reporters
  /^\s*\d+\) /, // mocha numbered failures
  /^\s*(?:[A-Z]\w*)?(?:Error|Exception)(?: \[[A-Z_]+\])?:/, // Error:, AssertionError [ERR_ASSERTION]:, TypeError:
  /^E\s{2,}\S/, // pytest assertion detail
  /^\s*--- FAIL\b/, // go test
  /panicked at\b/, // cargo / rust
  /^test result: FAILED\b/, // cargo summary
  /^error(?:\[E\d+\])?:/, // rustc, cargo
];

// Summary and noise lines that never say what failed (the old reason showed only these).
const SUMMARY: RegExp[] = [
  /^#\s*(?:tests|suites|pass|fail|cancelled|skipped|todo|duration_ms)\b/,
  /^ℹ\s/,
  /^1\.\.\d+$/,
  /^TAP version/,
  /^\s*(?:Tests?|Test Suites|Snapshots|Time|Ran all test suites|Duration|Start at)\b.*[:.]/,
  /^npm (?:ERR!|error)\s*(?:$|code|path|command|workdir|A complete log|Lifecycle|Test failed|errno)/,
  /^\s*at\s/,
];

/**
 * The first lines of `output` that say what failed. A non-zero exit with no such line falls
 * back to the last non-blank lines that are not summaries or stack frames.
 */
export function failingLines(output: string, exitCode: number | null, timedOut = false): string[] {
  if (exitCode === 0 && !timedOut) return [];
  const lines = output.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '').split(/\r?\n/).map((l) => l.trimEnd());
  const pick = (l: string) => (l.trim().length > MAX_LINE ? `${l.trim().slice(0, MAX_LINE - 1)}…` : l.trim());
  const found: string[] = [];
  const seen = new Set<string>();
  for (const l of lines) {
    if (found.length >= MAX_FAILING_LINES) break;
    if (l.trim() === '' || !FAILING.some((r) => r.test(l))) continue;
    const p = pick(l);
    if (seen.has(p)) continue;
    seen.add(p);
    found.push(p);
  }
  if (found.length > 0) return found;
  const rest = lines.filter((l) => l.trim() !== '' && !SUMMARY.some((r) => r.test(l)));
  return rest.slice(-3).map(pick);
}

/** The one-line reason a failed check gives its entry. */
export function checkFailureReason(r: { exitCode: number | null; timedOut: boolean; timeoutMs?: number; startError?: string; failing: string[] }): string {
  if (r.startError !== undefined) return `check command could not start: ${r.startError}`;
  const what = r.failing.slice(0, 3).join(' | ');
  const head = r.timedOut ? `check command timed out after ${r.timeoutMs} ms` : `check failed (exit ${r.exitCode ?? 'signal'})`;
  const reason = what ? `${head}: ${what}` : head;
  return reason.length > 600 ? `${reason.slice(0, 599)}…` : reason;
}

interface CheckOutputRow {
  entry_id: string;
  attempt: number;
  command: string;
  exit_code: number | null;
  timed_out: number;
  output: string;
  truncated: number;
  failing_json: string;
}

/** Stores one attempt's output (replacing a re-run of the same attempt) and drops old attempts. */
export function recordCheckOutput(db: Db, o: Omit<CheckOutputView, 'failingLines'> & { failingLines: string[]; durationMs: number; at: number }): void {
  db.transaction(() => {
    db.run(
      `INSERT OR REPLACE INTO check_outputs (entry_id, attempt, command, exit_code, timed_out, output, truncated, failing_json, duration_ms, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [o.entryId, o.attempt, o.command, o.exitCode, o.timedOut ? 1 : 0, o.output, o.truncated ? 1 : 0, JSON.stringify(o.failingLines), o.durationMs, o.at],
    );
    db.run('DELETE FROM check_outputs WHERE entry_id = ? AND attempt <= ?', [o.entryId, o.attempt - KEEP_ATTEMPTS]);
  });
}

/** The output of `attempt` (default: the latest stored) of an entry. */
export function readCheckOutput(db: Db, entryId: string, attempt?: number): CheckOutputView | undefined {
  const row = attempt === undefined
    ? db.get<CheckOutputRow>('SELECT * FROM check_outputs WHERE entry_id = ? ORDER BY attempt DESC LIMIT 1', [entryId])
    : db.get<CheckOutputRow>('SELECT * FROM check_outputs WHERE entry_id = ? AND attempt = ?', [entryId, attempt]);
  if (!row) return undefined;
  return {
    entryId: row.entry_id, attempt: row.attempt, command: row.command, exitCode: row.exit_code, timedOut: row.timed_out === 1,
    output: row.output, truncated: row.truncated === 1, failingLines: JSON.parse(row.failing_json) as string[],
  };
}

/** Entry ids that have any stored check output. */
export function entriesWithCheckOutput(db: Db): Set<string> {
  return new Set(db.all<{ entry_id: string }>('SELECT DISTINCT entry_id FROM check_outputs').map((r) => r.entry_id));
}
