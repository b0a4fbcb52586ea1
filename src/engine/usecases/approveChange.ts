import { excludeFiles } from '../changes/patch';
import { approvalHash, requireChange, transitionChange } from '../changes/lifecycle';
import { EngineError, describeError } from '../errors';
import { commitWithEvents, transitionTask } from '../runs/runs';
import type { Db } from '../store/types';
import type { EngineContext } from './context';

export interface ApproveOptions {
  excludeFiles?: string[];
  /** An explicit approval by a person (needed for protected and high-risk paths). */
  explicit: boolean;
  actor: 'user' | 'system';
  /** The version the approver reviewed; a change regenerated since then is refused. */
  expectedVersion?: number;
  reason?: string;
}

/** The latest live change of each dependency, so the queue lands them first. */
export function dependencyChangeIds(db: Db, runId: string, taskId: string): string[] {
  const task = db.get<{ depends_json: string }>('SELECT depends_json FROM tasks WHERE run_id = ? AND id = ?', [runId, taskId]);
  const deps = task ? (JSON.parse(task.depends_json) as string[]) : [];
  return deps.flatMap((d) => {
    const r = db.get<{ id: string }>(
      "SELECT id FROM change_requests WHERE run_id = ? AND task_id = ? AND status != 'superseded' ORDER BY created_at DESC, rowid DESC LIMIT 1",
      [runId, d],
    );
    return r ? [r.id] : [];
  });
}

/**
 * Approves a `proposed` change and queues it, in ONE transaction: either the change is
 * approved with its queue entry, or nothing changed (a crash in between cannot leave an
 * approved change without an entry, and two processes approving at once queue it once).
 * The approval is bound to the hash of the exact patch approved (see `approvalMatches`).
 *
 * Throws `usage/bad-state` (not waiting for review, or regenerated since `expectedVersion`),
 * `usage/nothing-left`, `policy/blocked` or `policy/needs-approval`.
 */
export function approveChange(ctx: EngineContext, changeId: string, o: ApproveOptions): void {
  const { db, clock, queue } = ctx;
  const excluded = o.excludeFiles ?? [];
  const at = clock.now();
  commitWithEvents(db, ctx.onEvent, (events) => {
    const c = requireChange(db, changeId);
    if (c.status !== 'proposed') throw new EngineError('usage/bad-state', `change ${changeId} is ${c.status}, not waiting for review`);
    if (o.expectedVersion !== undefined && c.version !== o.expectedVersion) {
      throw new EngineError('usage/bad-state', `change ${changeId} was regenerated (now v${c.version}) after you reviewed v${o.expectedVersion}; review the new diff`);
    }
    if (excluded.length > 0 && excludeFiles(c.patch, excluded).trim() === '') {
      throw new EngineError('usage/nothing-left', 'every file of this change was rejected; reject the change instead');
    }
    const actor = o.actor === 'user' ? 'user' : 'system';
    const reason = o.reason ?? (excluded.length ? `approved without ${excluded.join(', ')}` : o.explicit ? 'approved explicitly' : 'approved');
    transitionChange(db, events, {
      changeId, from: ['proposed'], to: 'approved', at, actor, reason,
      set: { excluded_files_json: JSON.stringify(excluded), approved_patch_hash: approvalHash(c.patch, excluded), error: null },
      data: { version: c.version },
    });
    transitionTask(db, events, { runId: c.run_id, taskId: c.task_id, from: ['proposed'], to: 'approved', at, actor, reason, error: null });
    // Throws on a policy refusal: the transaction rolls back and the change stays proposed.
    queue.enqueue(changeId, { actor: o.actor === 'user' ? 'user' : 'agent', explicitApproval: o.explicit, dependsOnChangeIds: dependencyChangeIds(db, c.run_id, c.task_id), events });
  });
  if (ctx.autoLand) ctx.kickQueue();
}

/**
 * Under approve-all, approves a change that was just proposed (or came back to review after a
 * regeneration), unless a rule asks for a person: then it stays for review and the log names
 * the rule. Never throws; a refusal is logged.
 */
export function autoApprove(ctx: EngineContext, changeId: string): void {
  const { db, log } = ctx;
  const c = requireChange(db, changeId);
  if (c.status !== 'proposed') return;
  const run = db.get<{ approve: string }>('SELECT approve FROM runs WHERE id = ?', [c.run_id]);
  if (run?.approve !== 'all') return;
  if (c.needs_explicit_approval) {
    const rules = (JSON.parse(c.policy_json) as Array<{ rule: string; path?: string; message: string }>).map((v) => `${v.rule}${v.path ? ` (${v.path})` : ''}`);
    log.info('change needs an explicit approval; left for review', { changeId, rules: rules.join(', ') });
    return;
  }
  const reason = c.version > 1 ? `re-approved automatically after regeneration (v${c.version})` : 'approved automatically (approve all)';
  try {
    approveChange(ctx, changeId, { explicit: false, actor: 'system', reason });
  } catch (e) {
    log.warn('automatic approval failed; the change waits for review', { changeId, error: describeError(e) });
  }
}
