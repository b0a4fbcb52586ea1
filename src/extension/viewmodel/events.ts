import type { Engine } from '../../engine/api';
import type { EngineEvent } from '../../engine/events';

/**
 * What the extension does about one engine event, beyond refreshing its views: tell the
 * user that a change came back for review after a regeneration, and write every landing
 * failure to the output channel with its reason. Pure: the caller looks titles up.
 */
export type EventReaction =
  | { kind: 'regenerated'; changeId: string; version: number; message: string }
  | { kind: 'log'; level: 'info' | 'warn' | 'error'; message: string; data: Record<string, unknown> };

/** Queue states that stop an entry short of landing; each is logged with its reason. */
const STOPPED: Readonly<Record<string, 'warn' | 'error'>> = { failed: 'error', quarantined: 'error', conflicted: 'warn', blocked: 'warn' };

export interface EventLookup {
  /** The task title of a change, for messages; undefined when unknown. */
  taskTitle(changeId: string | undefined, runId?: string, taskId?: string): string | undefined;
  /** True when approve-all will approve this change again by itself (policy allows it). */
  reapprovedAutomatically?(changeId: string): boolean;
}

/** Titles from the engine: the change's task title, else the task's. `autoApprove`: approve-all is on. */
export function engineLookup(engine: Engine | undefined, autoApprove = false): EventLookup {
  return {
    reapprovedAutomatically: (changeId) => autoApprove && engine?.getChange(changeId)?.needsExplicitApproval === false,
    taskTitle: (changeId, runId, taskId) => (changeId ? engine?.getChange(changeId)?.taskTitle : undefined)
      ?? (runId && taskId ? engine?.getRun(runId)?.tasks.find((t) => t.id === taskId)?.title : undefined),
  };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

export function reactTo(e: EngineEvent, lookup: EventLookup): EventReaction[] {
  if (e.kind === 'change/state' && e.to === 'proposed' && e.data?.regenerated === true && e.subjectId) {
    const version = typeof e.data.version === 'number' ? e.data.version : 2;
    const task = lookup.taskTitle(e.subjectId, e.runId, e.taskId) ?? e.taskId ?? e.subjectId;
    const message = lookup.reapprovedAutomatically?.(e.subjectId)
      ? `The change for "${task}" was regenerated after a conflict (v${version}) and re-approved automatically; open the diff to see what lands.`
      : `The change for "${task}" was regenerated after a conflict (v${version}); review the new diff.`;
    return [
      { kind: 'regenerated', changeId: e.subjectId, version, message },
      { kind: 'log', level: 'info', message: `change for "${task}" regenerated after a conflict (v${version}), waiting for review again`, data: { changeId: e.subjectId, runId: e.runId, taskId: e.taskId, version } },
    ];
  }
  if (e.kind === 'change/state' && e.to === 'approved' && e.actor !== 'user' && typeof e.data?.version === 'number' && e.data.version > 1) {
    const task = lookup.taskTitle(e.subjectId, e.runId, e.taskId) ?? e.taskId ?? e.subjectId;
    return [{ kind: 'log', level: 'info', message: `change for "${task}" re-approved automatically after regeneration (v${e.data.version})`, data: { changeId: e.subjectId, runId: e.runId, taskId: e.taskId } }];
  }
  if (e.kind === 'queue/state' && e.to !== undefined && STOPPED[e.to]) {
    const changeId = str(e.data?.changeId);
    const task = lookup.taskTitle(changeId, e.runId, e.taskId) ?? e.taskId ?? changeId ?? e.subjectId;
    const verb = e.to === 'blocked' ? 'is blocked' : `${e.to}`;
    const reason = e.reason ?? 'no reason given';
    return [{
      kind: 'log',
      level: STOPPED[e.to],
      message: `landing "${task}" ${verb}: ${reason}`,
      data: { entryId: e.subjectId, changeId, runId: e.runId, taskId: e.taskId, from: e.from, to: e.to },
    }];
  }
  return [];
}
