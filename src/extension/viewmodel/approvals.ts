import { verificationText } from '../../engine/changes/verification';
import { isStoppedEntry, type ChangeVerification, type ChangeView, type CheckOutputView, type QueueEntryView, type QueueState } from '../../engine/api';
import { assertNever } from '../../engine/errors';
import { formatCost, isModelNamePriced, oneLine, plural, type PriceTable } from './format';
import type { IconView, ItemView, TreeNode } from './nodes';

/** Queue states still moving through the queue (shown under "Queue"); the rest are outcomes. */
const IN_FLIGHT: ReadonlySet<QueueState> = new Set(['queued', 'checking', 'landing', 'blocked']);

export function queueIcon(state: QueueState): IconView {
  switch (state) {
    case 'queued': return { id: 'clock' };
    case 'checking': return { id: 'beaker', color: 'charts.blue' };
    case 'landing': return { id: 'sync~spin', color: 'charts.blue' };
    case 'merged': return { id: 'git-merge', color: 'charts.green' };
    case 'conflicted': return { id: 'git-compare', color: 'charts.red' };
    case 'failed': return { id: 'error', color: 'errorForeground' };
    case 'quarantined': return { id: 'warning', color: 'charts.orange' };
    case 'rejected': return { id: 'close', color: 'charts.red' };
    case 'reverted': return { id: 'discard', color: 'disabledForeground' };
    case 'blocked': return { id: 'debug-pause', color: 'charts.yellow' };
    case 'superseded': return { id: 'history', color: 'disabledForeground' };
    default: return assertNever(state, 'queue state');
  }
}

export interface ApprovalsData {
  changes: ChangeView[];
  queue: QueueEntryView[];
  /** How many finished entries to show under "Recent". */
  recentLimit?: number;
}

export interface ApprovalsSections {
  review: ChangeView[];
  queue: QueueEntryView[];
  recent: QueueEntryView[];
}

/** Splits engine data into the three sections; newest first within queue and recent. */
export function approvalSections(data: ApprovalsData): ApprovalsSections {
  const byNewest = (a: QueueEntryView, b: QueueEntryView) => b.updatedAt - a.updatedAt;
  const queue = data.queue.filter((e) => IN_FLIGHT.has(e.state)).sort(byNewest);
  const recent = data.queue.filter((e) => !IN_FLIGHT.has(e.state)).sort(byNewest).slice(0, data.recentLimit ?? 10);
  return { review: data.changes.filter((c) => c.status === 'proposed'), queue, recent };
}

/** Entries the user can put back in the queue with Retry (the engine's `retryEntry`). */
export function isEntryRetryable(state: QueueState): boolean {
  return isStoppedEntry(state);
}

export type SectionName = 'review' | 'queue' | 'recent';

/**
 * Tree ids for the sections that change when a section gains items. VS Code keeps the
 * collapsed state of an id it has seen (a section shown empty was not expandable, and one
 * the user folded stays folded); a new id makes it take the item's `expanded` again, so
 * new work is never hidden under a folded header.
 */
export class SectionIds {
  private readonly counts = new Map<SectionName, number>();
  private readonly generations = new Map<SectionName, number>();

  /** Call once per refresh with the section's current size. */
  next(section: SectionName, count: number): string {
    const before = this.counts.get(section) ?? 0;
    let generation = this.generations.get(section) ?? 0;
    if (count > before) generation += 1;
    this.counts.set(section, count);
    this.generations.set(section, generation);
    return `section:${section}:${generation}`;
  }
}

export function sectionItem(section: SectionName, count: number, id = `section:${section}`): ItemView {
  const label = section === 'review' ? 'Waiting for review' : section === 'queue' ? 'Merge queue' : 'Recently landed or failed';
  const icon: IconView = section === 'review' ? { id: 'eye' } : section === 'queue' ? { id: 'list-ordered' } : { id: 'history' };
  return {
    id,
    label,
    description: String(count),
    icon,
    contextValue: `section ${section}`,
    collapsible: count > 0 ? 'expanded' : 'none',
  };
}

export function verdictText(change: ChangeView): string {
  if (change.reviewVerdict === 'approve') return 'reviewer: approve';
  if (change.reviewVerdict === 'request_changes') return 'reviewer: changes requested';
  return 'not reviewed';
}

/** The version tag of a regenerated change ("v2"); nothing for the agent's first patch. */
export function versionTag(version: number | undefined): string | undefined {
  return version !== undefined && version > 1 ? `v${version}` : undefined;
}

/** Why an explicit approval is needed, one rule a line; falls back to the policy notes. */
export function explicitApprovalText(change: ChangeView): string {
  const reasons = change.explicitApprovalReasons?.length ? change.explicitApprovalReasons : change.policy.map((p) => `${p.path ? `${p.path}: ` : ''}${p.message}`);
  return reasons.length > 0 ? reasons.join('\n') : 'It touches protected paths.';
}

/** "tests 14/14" or "tests failed": the change's own check, short enough for a row. */
function checkTag(v: ChangeVerification): string {
  const counts = v.counts ? ` ${v.counts.passed}/${v.counts.total}` : '';
  return v.passed ? `tests passed${counts}` : `tests failed${counts}`;
}

export function changeItem(change: ChangeView, prices?: PriceTable): ItemView {
  const tokens = ['change', change.status];
  if (change.status === 'proposed') tokens.push('reviewable');
  if (change.status === 'merged') tokens.push('revertable');
  if (change.needsExplicitApproval) tokens.push('explicit');
  const version = versionTag(change.version);
  const lines = [change.taskTitle, `${change.taskId} · ${verdictText(change)} · ${plural(change.files.length, 'file')}`];
  if (version) lines.push(`Regenerated after a conflict (${version}): review the new diff.`);
  if (change.summary) lines.push(change.summary);
  if (change.verification) lines.push(verificationText(change.verification));
  if (change.reviewComments) lines.push(`Reviewer: ${change.reviewComments}`);
  for (const p of change.policy) lines.push(`Policy ${p.rule}${p.path ? ` (${p.path})` : ''}: ${p.message}`);
  if (change.needsExplicitApproval) lines.push(`Needs explicit approval (automatic approval skips this change) because:\n${explicitApprovalText(change)}`);
  const cost = formatCost(change.costUsd, prices === undefined || isModelNamePriced(prices, change.model));
  return {
    id: `change:${change.id}:${change.version ?? 1}`,
    label: oneLine(change.taskTitle, 80),
    description: [...(version ? [version] : []), verdictText(change), ...(change.verification ? [checkTag(change.verification)] : []), plural(change.files.length, 'file'), cost].join(' · '),
    tooltip: lines.join('\n'),
    icon: change.reviewVerdict === 'request_changes' || change.policy.length > 0 || change.verification?.passed === false
      ? { id: 'warning', color: 'charts.orange' }
      : { id: 'git-pull-request', color: 'charts.yellow' },
    contextValue: tokens.join(' '),
    collapsible: change.files.length > 0 ? 'collapsed' : 'none',
    command: { command: 'hyperion.openDiff', title: 'Open Diff', args: [{ changeId: change.id, runId: change.runId, taskId: change.taskId }] },
  };
}

export function fileItem(change: ChangeView, path: string): ItemView {
  const excluded = change.excludedFiles.includes(path);
  return {
    id: `file:${change.id}:${path}`,
    label: path,
    description: excluded ? 'excluded' : undefined,
    icon: { id: excluded ? 'circle-slash' : 'file' },
    contextValue: 'file',
    collapsible: 'none',
    command: { command: 'hyperion.openDiff', title: 'Open Diff', args: [{ changeId: change.id, path }] },
  };
}

/** What a queue row knows besides its entry: the task title, its change and the check output. */
export interface QueueItemContext {
  title?: string;
  /** The change's version; above 1 the row says it was approved again after regeneration. */
  version?: number;
  /** True under approve-all: a regenerated change was approved again by policy, not by a person. */
  autoApprove?: boolean;
  check?: CheckOutputView;
}

/** The first line that says what failed, from the check's failing lines. */
export function firstFailingLine(check: CheckOutputView | undefined): string | undefined {
  const line = check?.failingLines.find((l) => l.trim().length > 0);
  return line?.trim();
}

export function queueItem(entry: QueueEntryView, ctx: QueueItemContext | string | undefined = {}): ItemView {
  const c: QueueItemContext = typeof ctx === 'string' || ctx === undefined ? { title: ctx } : ctx;
  const title = c.title;
  const tokens = ['queue', entry.state, entry.kind];
  if (entry.state === 'merged' && entry.kind === 'land') tokens.push('revertable');
  if (isEntryRetryable(entry.state)) tokens.push('retryable');
  if (entry.hasCheckOutput) tokens.push('checkOutput');
  const version = versionTag(c.version);
  const failing = firstFailingLine(c.check);
  // The engine's reason says why it waits or stopped ("blocked: README.md has unsaved edits");
  // older stores only have lastError.
  const why = entry.reason ?? entry.lastError;
  const parts: string[] = [entry.kind === 'revert' ? `revert · ${entry.state}` : entry.state];
  if (version) parts.push(version);
  if (entry.attempts > 1) parts.push(`attempt ${entry.attempts}`);
  if (entry.landedCommit) parts.push(entry.landedCommit.slice(0, 8));
  // Long enough for a test name: VS Code elides the description to the view's width anyway,
  // and the tooltip has the whole reason.
  if (failing) parts.push(oneLine(failing, 120));
  // "blocked · README.md has unsaved edits", not "blocked · blocked: README.md …".
  else if (why && why !== entry.state) parts.push(oneLine(why.startsWith(`${entry.state}: `) ? why.slice(entry.state.length + 2) : why, 120));
  const lines = [title ?? entry.taskId, `${entry.taskId} · ${entry.kind} · ${entry.state}`];
  if (version) lines.push(c.autoApprove ? `Re-approved automatically after regeneration (${version})` : `Approved after regeneration (${version})`);
  if (entry.landedCommit) lines.push(`Commit: ${entry.landedCommit}`);
  if (entry.conflictPaths.length > 0) lines.push(`Conflicts: ${entry.conflictPaths.join(', ')}`);
  if (why) lines.push(`Reason: ${why}`);
  if (entry.lastError && entry.lastError !== why) lines.push(`Last error: ${entry.lastError}`);
  if (c.check && c.check.failingLines.length > 0) lines.push('Check failed at:', ...c.check.failingLines.slice(0, 5).map((l) => `  ${oneLine(l, 120)}`));
  if (entry.hasCheckOutput) lines.push('Right-click → Show Check Output for the full output.');
  if (isEntryRetryable(entry.state)) lines.push('Right-click → Retry to put it back in the queue.');
  return {
    id: `queue:${entry.id}`,
    label: oneLine(title ?? entry.taskId, 80),
    description: parts.join(' · '),
    tooltip: lines.join('\n'),
    icon: queueIcon(entry.state),
    contextValue: tokens.join(' '),
    collapsible: 'none',
    command: { command: 'hyperion.openDiff', title: 'Open Diff', args: [{ changeId: entry.changeId, runId: entry.runId, taskId: entry.taskId }] },
  };
}

/** The children of a section node, as tree nodes (the provider turns them into items). */
export function sectionChildren(section: SectionName, s: ApprovalsSections): TreeNode[] {
  switch (section) {
    case 'review': return s.review.map((c) => ({ kind: 'change', changeId: c.id, runId: c.runId, taskId: c.taskId }));
    case 'queue': return s.queue.map((e) => ({ kind: 'queue', entryId: e.id, changeId: e.changeId, runId: e.runId, taskId: e.taskId }));
    case 'recent': return s.recent.map((e) => ({ kind: 'queue', entryId: e.id, changeId: e.changeId, runId: e.runId, taskId: e.taskId }));
    default: return assertNever(section, 'section');
  }
}
