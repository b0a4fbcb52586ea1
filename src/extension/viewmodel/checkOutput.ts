import type { CheckOutputView } from '../../engine/api';

/**
 * The read-only "check output" document of a queue entry: what the merge queue's check
 * command printed on one landing attempt, with a header that says which command, how it
 * ended and the lines that say what failed. Pure, so the text is tested without VS Code.
 */
export const CHECK_SCHEME = 'hyperion-check';

/** `/<entryId>/check-output.log`, the `.log` extension picks the log language. */
export function checkOutputPath(entryId: string): string {
  return `/${encodeURIComponent(entryId)}/check-output.log`;
}

export function parseCheckOutputPath(p: string): { entryId: string } | undefined {
  const m = /^\/([^/]+)\/check-output\.log$/.exec(p);
  if (!m) return undefined;
  try {
    return { entryId: decodeURIComponent(m[1]) };
  } catch {
    return undefined;
  }
}

function ending(v: CheckOutputView): string {
  if (v.timedOut) return 'timed out';
  if (v.exitCode === null) return 'was stopped';
  return v.exitCode === 0 ? 'passed (exit code 0)' : `failed (exit code ${v.exitCode})`;
}

export function formatCheckOutput(v: CheckOutputView, title?: string): string {
  const head = [
    `# Check output${title ? ` for "${title}"` : ''} — queue entry ${v.entryId}, attempt ${v.attempt}`,
    `# Command: ${v.command}`,
    `# Result: ${ending(v)}`,
  ];
  if (v.failingLines.length > 0) head.push('# What failed:', ...v.failingLines.map((l) => `#   ${l}`));
  if (v.truncated) head.push('# The output was long: only its beginning and its end were kept.');
  return `${head.join('\n')}\n\n${v.output}${v.output.endsWith('\n') ? '' : '\n'}`;
}

/** The text shown when an entry has no stored check output (none ran, or it was cleaned up). */
export function noCheckOutputText(entryId: string): string {
  return `# No check output is stored for queue entry ${entryId}.\n# A check runs only when hyperion.checkCommand is set.\n`;
}
