import type { ChangeVerification } from '../api';
import { failingLines } from '../queue/checkOutput';

/**
 * A change's own check (issue 11): how its result is read from a command's output, stored
 * on the change (`change_requests.verification_json`) and said to the user and the reviewer.
 */

type Counts = NonNullable<ChangeVerification['counts']>;

const num = (m: RegExpExecArray | null, i = 1) => (m ? Number(m[i]) : undefined);

/**
 * Tests passed / failed as the usual runners summarise them (node:test, TAP, jest/vitest,
 * mocha, pytest, cargo, go). Undefined when no summary could be read: better no count than a
 * wrong one.
 */
export function testCounts(output: string): Counts | undefined {
  const text = output.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
  const last = (re: RegExp) => {
    let m: RegExpExecArray | null;
    let found: RegExpExecArray | null = null;
    const g = new RegExp(re.source, `${re.flags.includes('m') ? '' : 'm'}${re.flags}g`);
    while ((m = g.exec(text)) !== null) found = m;
    return found;
  };
  // node:test (spec reporter "ℹ pass 14", TAP "# pass 14").
  const pass = num(last(/^\s*(?:ℹ|#)\s*pass (\d+)\s*$/));
  const fail = num(last(/^\s*(?:ℹ|#)\s*fail (\d+)\s*$/));
  if (pass !== undefined && fail !== undefined) return { passed: pass, failed: fail, total: pass + fail };
  // jest / vitest: "Tests:  1 failed, 13 passed, 14 total" / "Tests  13 passed | 1 failed (14)".
  const jest = last(/^\s*Tests:?\s+(.*)$/);
  if (jest) {
    const p = num(/(\d+) passed/.exec(jest[1]!)) ?? 0;
    const f = num(/(\d+) failed/.exec(jest[1]!)) ?? 0;
    if (p + f > 0) return { passed: p, failed: f, total: p + f };
  }
  // mocha: "13 passing", "1 failing".
  const passing = num(last(/^\s*(\d+) passing\b/));
  if (passing !== undefined) {
    const failing = num(last(/^\s*(\d+) failing\b/)) ?? 0;
    return { passed: passing, failed: failing, total: passing + failing };
  }
  // cargo: "test result: ok. 14 passed; 0 failed".
  const cargo = last(/^test result: \w+\. (\d+) passed; (\d+) failed/);
  if (cargo) return { passed: Number(cargo[1]), failed: Number(cargo[2]), total: Number(cargo[1]) + Number(cargo[2]) };
  // pytest: "==== 13 passed, 1 failed in 0.12s ====".
  const pytest = last(/^=+ (.*\b(?:passed|failed)\b.*) in [\d.]+s/);
  if (pytest) {
    const p = num(/(\d+) passed/.exec(pytest[1]!)) ?? 0;
    const f = num(/(\d+) failed/.exec(pytest[1]!)) ?? 0;
    return { passed: p, failed: f, total: p + f };
  }
  // go test -v: one line per test.
  const goPass = (text.match(/^\s*--- PASS: /gm) ?? []).length;
  const goFail = (text.match(/^\s*--- FAIL: /gm) ?? []).length;
  if (goPass + goFail > 0) return { passed: goPass, failed: goFail, total: goPass + goFail };
  return undefined;
}

/** The stored result of one run of the check command. */
export function verificationOf(command: string, r: { exitCode: number | null; timedOut: boolean; output: string; durationMs: number; startError?: string }): ChangeVerification {
  const passed = r.exitCode === 0 && !r.timedOut && r.startError === undefined;
  const counts = testCounts(r.output);
  const failing = r.startError !== undefined ? [r.startError] : failingLines(r.output, r.exitCode, r.timedOut);
  return { command, passed, exitCode: r.exitCode, timedOut: r.timedOut, ...(counts ? { counts } : {}), failingLines: failing, durationMs: r.durationMs };
}

const MAX_COMMAND_CHARS = 60;

/** The check as the one line names it: a long shell line would bury the result, and its start tells which check it is. */
function commandLabel(command: string): string {
  const flat = command.replace(/\s+/g, ' ').trim();
  return flat.length <= MAX_COMMAND_CHARS ? flat : `${flat.slice(0, MAX_COMMAND_CHARS - 1)}…`;
}

/** "tests passed in the task's worktree: 14/14", or how it failed. One line, for views, the CLI and the reviewer. */
export function verificationText(v: ChangeVerification): string {
  const counts = v.counts ? `: ${v.counts.passed}/${v.counts.total}` : '';
  const command = commandLabel(v.command);
  if (v.passed) return `tests passed in the task's worktree${counts} (${command})`;
  const how = v.timedOut ? 'timed out' : v.exitCode === null ? 'could not run' : `failed (exit ${v.exitCode})`;
  const what = v.failingLines.slice(0, 2).join(' | ');
  return `tests ${how} in the task's worktree${v.counts ? `: ${v.counts.passed}/${v.counts.total} passed` : ''} (${command})${what ? `: ${what}` : ''}`;
}

/** Reads the stored column; a damaged value reads as absent rather than failing the view. */
export function parseVerification(json: string | null | undefined): ChangeVerification | undefined {
  if (!json) return undefined;
  try {
    const v = JSON.parse(json) as ChangeVerification;
    return typeof v?.command === 'string' && typeof v.passed === 'boolean' ? v : undefined;
  } catch {
    return undefined;
  }
}
