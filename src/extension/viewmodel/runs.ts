import { isBusyRun, isRetryableTask, type RunStatus, type RunView, type TaskStatus, type TaskView } from '../../engine/api';
import { assertNever } from '../../engine/errors';
import { topologicalOrder } from '../../engine/graph/dag';
import type { TaskAgentView } from './agents';
import { formatCost, isPriced, oneLine, runStatusText, type PriceTable } from './format';
import type { IconView, ItemView } from './nodes';

/** Codicon and colour per task status; colours are theme color ids so themes stay in charge. */
export function taskIcon(status: TaskStatus): IconView {
  switch (status) {
    case 'pending': return { id: 'circle-outline', color: 'disabledForeground' };
    case 'ready': return { id: 'circle-large-outline' };
    case 'running': return { id: 'sync~spin', color: 'charts.blue' };
    case 'proposed': return { id: 'eye', color: 'charts.yellow' };
    case 'approved': return { id: 'pass', color: 'charts.green' };
    case 'rejected': return { id: 'close', color: 'charts.red' };
    case 'merged': return { id: 'git-merge', color: 'charts.green' };
    case 'failed': return { id: 'error', color: 'errorForeground' };
    case 'skipped': return { id: 'debug-step-over', color: 'disabledForeground' };
    case 'cancelled': return { id: 'circle-slash', color: 'disabledForeground' };
    default: return assertNever(status, 'task status');
  }
}

export function runIcon(status: RunStatus): IconView {
  switch (status) {
    case 'draft': return { id: 'edit', color: 'charts.purple' };
    case 'planning': return { id: 'lightbulb', color: 'charts.blue' };
    case 'running': return { id: 'sync~spin', color: 'charts.blue' };
    case 'paused': return { id: 'debug-pause', color: 'charts.yellow' };
    case 'awaiting-review': return { id: 'eye', color: 'charts.yellow' };
    case 'landing': return { id: 'git-merge', color: 'charts.blue' };
    case 'done': return { id: 'check-all', color: 'charts.green' };
    case 'failed': return { id: 'error', color: 'errorForeground' };
    case 'cancelled': return { id: 'circle-slash', color: 'disabledForeground' };
    default: return assertNever(status, 'run status');
  }
}

/** Runs with nothing left to run or land: their row offers the run summary inline. */
const SETTLED_RUN: ReadonlySet<RunStatus> = new Set(['done', 'failed', 'cancelled']);

/** Runs the engine may still be working on or landing; deleteRun refuses them. */
const UNDELETABLE_RUN: ReadonlySet<RunStatus> = new Set(['planning', 'running', 'landing']);

export function isRunActive(run: RunView): boolean {
  return isBusyRun(run.status);
}

/** Tasks done so far over all tasks, counting anything that needs no more agent work. */
export function runProgress(run: RunView): { done: number; total: number } {
  const settled: ReadonlySet<TaskStatus> = new Set(['proposed', 'approved', 'rejected', 'merged', 'failed', 'skipped', 'cancelled']);
  return { done: run.tasks.filter((t) => settled.has(t.status)).length, total: run.tasks.length };
}

/** A run's cost is known when every model its tasks were routed to has a price. */
export function runCostText(run: RunView, prices?: PriceTable): string {
  return formatCost(run.costUsd, prices === undefined || run.tasks.every((t) => isPriced(prices, t.route)));
}

/**
 * `latest`: the newest run, expanded like active ones so its tasks show without a click.
 * `prices`: the config's price table; without it every cost is taken as known.
 */
export function runItem(run: RunView, latest = false, prices?: PriceTable): ItemView {
  const { done, total } = runProgress(run);
  const cost = runCostText(run, prices);
  const tokens = ['run', run.status];
  if (isRunActive(run)) tokens.push('cancellable');
  if (!UNDELETABLE_RUN.has(run.status)) tokens.push('deletable');
  if (run.status === 'draft') tokens.push('draft');
  else tokens.push('summary');
  if (SETTLED_RUN.has(run.status)) tokens.push('settled');
  const lines = [run.goal, `Status: ${runStatusText(run.status)}`, `Tasks: ${done}/${total}`, `Cost so far: ${cost}`];
  if (run.error) lines.push(`Error: ${run.error}`);
  return {
    id: `run:${run.id}`,
    label: oneLine(run.goal, 70),
    description: `${runStatusText(run.status)} · ${done}/${total} · ${cost}`,
    tooltip: lines.join('\n'),
    icon: runIcon(run.status),
    contextValue: tokens.join(' '),
    collapsible: isRunActive(run) || latest ? 'expanded' : 'collapsed',
  };
}

/**
 * Tasks in dependency order (every task after the ones it needs); a graph the engine
 * could not order (should not happen after validation) keeps the stored order.
 */
export function orderedTasks(run: RunView): TaskView[] {
  try {
    const byId = new Map(run.tasks.map((t) => [t.id, t]));
    return topologicalOrder(run.tasks).map((id) => byId.get(id)!);
  } catch {
    return run.tasks;
  }
}

/**
 * `agent`: the task's coding agent and, while it runs, what it is doing (viewmodel/agents.ts):
 * the label starts with `[agent]`, and a running task's description starts with its activity.
 * `draft`: the task belongs to a draft plan, so it can be edited or removed.
 */
export function taskItem(task: TaskView, prices?: PriceTable, agent: TaskAgentView = {}, draft = false): ItemView {
  const priced = prices === undefined || isPriced(prices, task.route);
  const tokens = ['task', task.status];
  if (draft) tokens.push('draftTask');
  if (task.changeId) tokens.push('change');
  if (task.status === 'proposed' && task.changeId) tokens.push('reviewable');
  if (isRetryableTask(task.status)) tokens.push('retryable');
  // A change accepted by hunks lands only part of what the agent proposed: say so where the status is.
  const status = task.partlyAccepted ? `${task.status} (partly accepted)` : task.status;
  // A transcript exists once the agent has started.
  if (agent.agent && task.status !== 'pending' && task.status !== 'ready') tokens.push('transcript');
  // What the agent does leads the description, so a narrow sidebar still shows it.
  const parts = agent.activity ? [agent.activity, task.id, status] : [task.id, status];
  if (task.costUsd > 0 || (!priced && task.attempts > 0)) parts.push(formatCost(task.costUsd, priced));
  if (task.dependsOn.length > 0) parts.push(`after ${task.dependsOn.join(', ')}`);
  const lines = [task.title, `${task.id} · ${task.type} · ${status}`];
  if (agent.agent) lines.push(`Agent: ${agent.agent}`);
  if (agent.activity) lines.push(`Now: ${agent.activity}`);
  if (task.route) lines.push(`Model: ${task.route.provider}:${task.route.model}`);
  if (!priced) lines.push(`Cost: ${formatCost(task.costUsd, false)} (no price is configured for this model)`);
  if (task.attempts > 1) lines.push(`Attempts: ${task.attempts}`);
  if (task.dependsOn.length > 0) lines.push(`Depends on: ${task.dependsOn.join(', ')}`);
  if (task.summary) lines.push(task.summary);
  if (task.error) lines.push(`Error: ${task.error}`);
  return {
    id: `task:${task.runId}:${task.id}`,
    // The agent's name leads the label: a description is cut off first in a narrow sidebar.
    label: oneLine(agent.agent ? `[${agent.agent}] ${task.title}` : task.title, 80),
    description: parts.join(' · '),
    tooltip: lines.join('\n'),
    icon: taskIcon(task.status),
    contextValue: tokens.join(' '),
    collapsible: 'none',
    command: task.changeId
      ? { command: 'hyperion.openDiff', title: 'Open Diff', args: [{ runId: task.runId, taskId: task.id, changeId: task.changeId }] }
      : undefined,
  };
}
