import type { QueueSummary } from '../../engine/api';
import { formatCost, plural } from './format';

export interface StatusBarView {
  text: string;
  tooltip: string;
  /** True when something waits for the user (review, failure, blocked queue). */
  needsAttention: boolean;
}

/**
 * The queue at a glance. Zero counts are left out of the text (the tooltip lists all) so
 * the item stays short; an idle queue reads "Hyperion".
 */
export function formatStatusBar(s: QueueSummary): StatusBarView {
  const parts: string[] = [];
  if (s.running > 0) parts.push(`$(sync~spin) ${s.running}`);
  if ((s.runningRemotely ?? 0) > 0) parts.push(`$(remote) ${s.runningRemotely}`);
  if (s.awaitingReview > 0) parts.push(`$(eye) ${s.awaitingReview}`);
  if (s.queued > 0) parts.push(`$(list-ordered) ${s.queued}`);
  if (s.merged > 0) parts.push(`$(git-merge) ${s.merged}`);
  if (s.failed > 0) parts.push(`$(error) ${s.failed}`);
  if (s.blocked > 0) parts.push(`$(debug-pause) ${s.blocked}`);
  if (s.costUsd > 0) parts.push(formatCost(s.costUsd));
  const text = parts.length === 0 ? '$(hubot) Hyperion' : `$(hubot) ${parts.join(' ')}`;
  const tooltip = [
    'Hyperion queue',
    `${plural(s.running, 'task')} running${(s.runningRemotely ?? 0) > 0 ? `, ${s.runningRemotely} of them on workers` : ''}`,
    `${plural(s.awaitingReview, 'change')} waiting for review`,
    `${s.queued} queued`,
    `${s.merged} merged`,
    `${s.failed} failed`,
    `${s.blocked} blocked`,
    `Run cost: ${formatCost(s.costUsd)}`,
    'Click to show the queue',
  ].join('\n');
  return { text, tooltip, needsAttention: s.awaitingReview > 0 || s.failed > 0 || s.blocked > 0 };
}
