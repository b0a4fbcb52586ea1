import type { RunSummary, SummaryTask } from '../api';

/**
 * Model-written text (goal, titles, commands) as inert Markdown: HTML is escaped so a title like
 * `<img src=x onerror=…>` shows as those characters in a preview, and the characters that
 * would start Markdown syntax or break a table cell are backslash-escaped.
 */
export function mdText(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|#!])/g, '\\$1');
}

/** A path or command inside a code span: backticks in it widen the fence so it cannot end early. */
function code(text: string): string {
  const flat = text.replace(/\s+/g, ' ');
  const fence = '`'.repeat(Math.max(1, ...[...flat.matchAll(/`+/g)].map((m) => m[0].length + 1)));
  return `${fence}${fence.length > 1 ? ' ' : ''}${flat}${fence.length > 1 ? ' ' : ''}${fence}`;
}

/** `known: false` (a model without a price, counted as $0) shows "—", or the priced part with "+". */
export function formatUsd(usd: number, known = true): string {
  if (!known && !(usd > 0)) return '—';
  const text = usd <= 0 ? '$0.00' : usd < 0.01 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
  return known ? text : `${text}+`;
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function checksText(t: SummaryTask): string {
  if (t.checks.length === 0) return '—';
  const failed = t.checks.filter((c) => !c.passed).length;
  return failed === 0 ? `${t.checks.length} passed` : `${failed} of ${t.checks.length} failed`;
}

function checkResult(c: SummaryTask['checks'][number]): string {
  if (c.passed) return 'passed';
  if (c.timedOut) return 'timed out';
  return c.exitCode === null ? 'could not run' : `failed (exit ${c.exitCode})`;
}

/**
 * The run summary as Markdown, for the read-only document the extension opens and for
 * `hyperion summary`. Lines counted in the totals are those of landed tasks.
 */
export function renderRunSummary(s: RunSummary): string {
  const out: string[] = [];
  out.push(`# Run summary: ${mdText(s.goal)}`, '');
  out.push(`Run ${code(s.runId)} · **${s.status}**${s.baseCommit ? ` · from ${code(s.baseCommit.slice(0, 12))}` : ''}`, '');
  out.push('| Task | Status | Files | Lines | Review | Checks | Cost | Time | Commit |');
  out.push('|---|---|---:|---:|---|---|---:|---:|---|');
  for (const t of s.tasks) {
    out.push(`| ${code(t.id)} ${mdText(t.title)} | ${t.status} | ${t.files.length} | +${t.linesAdded} −${t.linesRemoved} | ${t.reviewVerdict ?? '—'} | ${checksText(t)} | ${formatUsd(t.costUsd, t.costKnown)} | ${formatMs(t.durationMs)} | ${t.commit ? code(t.commit.slice(0, 12)) : '—'} |`);
  }
  const x = s.totals;
  out.push('', '## Totals', '');
  out.push(`- Tasks: ${x.tasks}, landed: ${x.merged}`);
  out.push(`- Landed: ${x.files} file${x.files === 1 ? '' : 's'}, +${x.linesAdded} −${x.linesRemoved} lines`);
  out.push(`- Checks: ${x.checksRun} run, ${x.checksFailed} failed`);
  out.push(`- Cost: ${formatUsd(x.costUsd, x.costKnown)}${x.costKnown ? '' : ' (a model has no price in the config)'} · agent time: ${formatMs(x.durationMs)}`);
  out.push('', '## Still waiting', '');
  if (s.waiting.length === 0) out.push('Nothing: every task has settled.');
  for (const w of s.waiting) out.push(`- ${code(w.taskId)}: ${mdText(w.reason)}`);
  out.push('', '## Tasks');
  for (const t of s.tasks) {
    out.push('', `### ${code(t.id)} ${mdText(t.title)}`, '');
    out.push(`- Status: ${t.status}${t.commit ? ` · commit ${code(t.commit)}` : ''}`);
    if (t.files.length === 0) out.push('- Files: none');
    for (const f of t.files) out.push(`- ${code(f.path)}: +${f.added} −${f.removed}`);
    out.push(`- Review: ${t.reviewVerdict ?? 'none'}`);
    for (const c of t.checks) out.push(`- Check ${code(c.command)} (attempt ${c.attempt}): ${checkResult(c)}${c.durationMs !== undefined ? `, ${formatMs(c.durationMs)}` : ''}`);
    out.push(`- Cost: ${formatUsd(t.costUsd, t.costKnown)} · time: ${formatMs(t.durationMs)}`);
  }
  return `${out.join('\n')}\n`;
}
