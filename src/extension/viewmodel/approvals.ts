import type { ChangeView, QueueEntryView, QueueState } from '../../engine/api';
import { assertNever } from '../../engine/errors';
import { formatCost, oneLine, plural } from './format';
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

export function sectionItem(section: 'review' | 'queue' | 'recent', count: number): ItemView {
  const label = section === 'review' ? 'Waiting for review' : section === 'queue' ? 'Merge queue' : 'Recently landed or failed';
  const icon: IconView = section === 'review' ? { id: 'eye' } : section === 'queue' ? { id: 'list-ordered' } : { id: 'history' };
  return {
    id: `section:${section}`,
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

export function changeItem(change: ChangeView): ItemView {
  const tokens = ['change', change.status];
  if (change.status === 'proposed') tokens.push('reviewable');
  if (change.status === 'merged') tokens.push('revertable');
  if (change.needsExplicitApproval) tokens.push('explicit');
  const lines = [change.taskTitle, `${change.taskId} · ${verdictText(change)} · ${plural(change.files.length, 'file')}`];
  if (change.summary) lines.push(change.summary);
  if (change.reviewComments) lines.push(`Reviewer: ${change.reviewComments}`);
  for (const p of change.policy) lines.push(`Policy ${p.rule}${p.path ? ` (${p.path})` : ''}: ${p.message}`);
  if (change.needsExplicitApproval) lines.push('Needs explicit approval: automatic approval skips this change.');
  return {
    id: `change:${change.id}`,
    label: oneLine(change.taskTitle, 80),
    description: [verdictText(change), plural(change.files.length, 'file'), formatCost(change.costUsd)].join(' · '),
    tooltip: lines.join('\n'),
    icon: change.reviewVerdict === 'request_changes' || change.policy.length > 0
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

export function queueItem(entry: QueueEntryView, title: string | undefined): ItemView {
  const tokens = ['queue', entry.state, entry.kind];
  if (entry.state === 'merged' && entry.kind === 'land') tokens.push('revertable');
  const parts: string[] = [entry.kind === 'revert' ? `revert · ${entry.state}` : entry.state];
  if (entry.attempts > 1) parts.push(`attempt ${entry.attempts}`);
  if (entry.landedCommit) parts.push(entry.landedCommit.slice(0, 8));
  if (entry.lastError) parts.push(oneLine(entry.lastError, 60));
  const lines = [title ?? entry.taskId, `${entry.taskId} · ${entry.kind} · ${entry.state}`];
  if (entry.landedCommit) lines.push(`Commit: ${entry.landedCommit}`);
  if (entry.conflictPaths.length > 0) lines.push(`Conflicts: ${entry.conflictPaths.join(', ')}`);
  if (entry.lastError) lines.push(`Reason: ${entry.lastError}`);
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
export function sectionChildren(section: 'review' | 'queue' | 'recent', s: ApprovalsSections): TreeNode[] {
  switch (section) {
    case 'review': return s.review.map((c) => ({ kind: 'change', changeId: c.id, runId: c.runId, taskId: c.taskId }));
    case 'queue': return s.queue.map((e) => ({ kind: 'queue', entryId: e.id, changeId: e.changeId, runId: e.runId, taskId: e.taskId }));
    case 'recent': return s.recent.map((e) => ({ kind: 'queue', entryId: e.id, changeId: e.changeId, runId: e.runId, taskId: e.taskId }));
    default: return assertNever(section, 'section');
  }
}
