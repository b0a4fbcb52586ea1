import os from 'node:os';
import type { QueueEntryView } from '../api';
import { checkPatchPolicy } from '../changes/policy';
import { describeError, EngineError, isEngineError, throwIfAborted } from '../errors';
import { runCheck } from './check';
import { makeContext, Mutex, publish, resolveTargetRef, type QueueContext } from './context';
import {
  acquireLease, dependencyState, END_STATES, getChange, getEntry, insertEntry, listEntries, renewLease, updateHeld,
} from './entries';
import { landEntry } from './landing';
import { computeMetrics } from './metrics';
import { buildProposal, mergeOnto, proposalFailure } from './prepare';
import { recoverQueue, settleStale } from './recovery';
import { toView, type EntryRow, type MergeQueue, type MergeQueueDeps } from './types';

/** Unexpected (non-policy, non-conflict) errors an entry may hit before it is failed. */
const MAX_ERROR_ATTEMPTS = 3;

/**
 * The merge queue. Preparation (proposal, three-way pre-check, tree policy, check command)
 * runs in parallel on up to `config.queueWorkers` leased entries; landing on the target ref is
 * serialized by an in-process mutex and made safe across processes by `update-ref` CAS.
 * See landing.ts for the crash-safety order and recovery.ts for how crashes are settled.
 */
export function createMergeQueue(deps: MergeQueueDeps): MergeQueue {
  const { db, clock, log } = deps;
  const workerPrefix = deps.workerId ?? `${os.hostname()}:${process.pid}`;
  const maxRegen = deps.maxRegenerations ?? 3;
  const mutex = new Mutex();
  let workerSeq = 0;
  const ctx = makeContext(deps, resolveTargetRef(deps.repo, deps.targetRef ?? deps.config.targetRef));

  function requireEntry(id: string): EntryRow {
    const e = getEntry(db, id);
    if (!e) throw new EngineError('queue/not-found', `no queue entry ${id}`);
    return e;
  }

  /** landing → merged, plus marking the reverted original when this is a revert. */
  function markMerged(ctx: QueueContext, entry: EntryRow, commit: string, reason: string, owner?: string): void {
    ctx.move(entry, 'merged', { actor: 'queue', owner, reason, set: { landed_commit: commit, last_error: null }, data: { commit } });
    if (entry.kind === 'revert') {
      const original = db.get<EntryRow>(
        "SELECT * FROM queue_entries WHERE change_id = ? AND kind = 'land' AND state = 'merged' ORDER BY seq DESC LIMIT 1",
        [entry.change_id],
      );
      if (original) ctx.move(original, 'reverted', { actor: 'queue', reason: `reverted by ${commit.slice(0, 10)}`, data: { revertCommit: commit } });
    }
  }

  async function handleConflict(ctx: QueueContext, entry: EntryRow, owner: string, tip: string, paths: string[]): Promise<void> {
    const before = db.get<{ n: number }>(
      "SELECT COUNT(*) AS n FROM events WHERE kind = 'queue/state' AND subject_id = ? AND to_state = 'conflicted'",
      [entry.id],
    )?.n ?? 0;
    const list = paths.join(', ');
    ctx.move(entry, 'conflicted', {
      actor: 'queue', owner, reason: `conflicts with ${tip.slice(0, 10)} in ${list}`,
      set: { conflict_paths_json: JSON.stringify(paths), last_error: `conflict in ${list}` }, data: { tip, paths },
    });
    const quarantine = (why: string) =>
      ctx.move(entry, 'quarantined', { actor: 'queue', owner, reason: `${why}; conflicting paths: ${list}`, set: { last_error: `${why}; conflicting paths: ${list}` }, data: { paths } });
    if (entry.kind === 'revert' || !deps.regenerate) return void quarantine('conflicts with the target and cannot be regenerated');
    if (before >= maxRegen) return void quarantine(`still conflicting after ${before} regenerations`);
    let res: { patch: string; baseCommit: string } | undefined;
    try {
      res = await deps.regenerate({ changeId: entry.change_id, newTip: tip, conflictPaths: paths });
    } catch (e) {
      return void quarantine(`regeneration failed: ${describeError(e)}`);
    }
    if (!res) return void quarantine('the agent could not regenerate the change');
    db.run('UPDATE change_requests SET patch = ?, base_commit = ?, updated_at = ? WHERE id = ?', [res.patch, res.baseCommit, clock.now(), entry.change_id]);
    ctx.move(entry, 'queued', {
      actor: 'agent', owner, reason: `regenerated against ${tip.slice(0, 10)}`,
      set: { proposal_commit: null, candidate_commit: null, old_tip: null }, data: { newTip: tip },
    });
  }

  /** Waits while an entry approved earlier is still being checked, so approval order is landing order. */
  async function awaitTurn(ctx: QueueContext, entry: EntryRow, signal: AbortSignal): Promise<void> {
    for (;;) {
      throwIfAborted(signal);
      const earlier = db.get<{ n: number }>(
        `SELECT COUNT(*) AS n FROM queue_entries WHERE target_ref = ? AND seq < ? AND state = 'checking'
         AND lease_owner IS NOT NULL AND lease_expires_at >= ?`,
        [ctx.ref, entry.seq, clock.now()],
      )?.n ?? 0;
      if (earlier === 0) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async function processEntry(ctx: QueueContext, entry: EntryRow, owner: string, signal: AbortSignal): Promise<void> {
    const lost = new AbortController();
    const renew = setInterval(() => {
      if (!renewLease(db, entry.id, owner, clock.now(), ctx.leaseMs)) lost.abort(new EngineError('queue/lease-lost', `lost the lease on ${entry.id}`));
    }, Math.max(50, Math.floor(ctx.leaseMs / 3)));
    const both = AbortSignal.any([signal, lost.signal]);
    try {
      ctx.crash('after-lease');
      const change = getChange(db, entry.change_id);
      if (!change) return void ctx.move(entry, 'failed', { actor: 'queue', owner, reason: `change ${entry.change_id} does not exist` });
      const at = clock.now();
      if (!entry.proposal_commit) {
        try {
          const p = await buildProposal(db, ctx.repo, entry, change, at);
          updateHeld(db, entry, owner, { proposal_commit: p.commit, repairs_json: JSON.stringify(p.repairs) }, clock.now());
        } catch (e) {
          const why = proposalFailure(e, change);
          if (why === undefined) throw e;
          return void ctx.move(entry, 'failed', { actor: 'queue', owner, reason: why, set: { last_error: why } });
        }
        ctx.crash('after-proposal');
      }
      throwIfAborted(both);
      const tip = await ctx.tip();
      const m = await mergeOnto(db, ctx.repo, deps.config, entry, change, tip, entry.proposal_commit!, clock.now());
      if (m.kind === 'conflicted') return handleConflict(ctx, entry, owner, tip, m.paths);
      if (m.kind === 'failed') return void ctx.move(entry, 'failed', { actor: 'queue', owner, reason: m.reason, set: { last_error: m.reason } });
      ctx.crash('after-commit-tree');
      if (deps.config.checkCommand) {
        const r = await runCheck(ctx.repo, m.candidate, deps.config.checkCommand, deps.config.checkTimeoutMs, both);
        throwIfAborted(both);
        if (!r.ok) return void ctx.move(entry, 'failed', { actor: 'queue', owner, reason: r.reason, set: { last_error: r.reason }, data: { timedOut: r.timedOut } });
      }
      updateHeld(db, entry, owner, { candidate_commit: m.candidate, old_tip: tip }, clock.now());
      await awaitTurn(ctx, entry, both);
      const out = await mutex.run(async () => {
        throwIfAborted(both);
        const o = await landEntry(ctx, entry, owner, change);
        if (o.kind === 'merged') markMerged(ctx, entry, o.commit, `landed as ${o.commit.slice(0, 10)}`, owner);
        return o;
      });
      switch (out.kind) {
        case 'merged': return;
        case 'blocked': {
          const why = `waiting for uncommitted changes in ${out.paths.join(', ')}`;
          return void ctx.move(entry, 'blocked', { actor: 'queue', owner, reason: why, set: { last_error: why }, data: { paths: out.paths } });
        }
        case 'conflicted': return handleConflict(ctx, entry, owner, out.tip, out.paths);
        case 'failed': return void ctx.move(entry, 'failed', { actor: 'queue', owner, reason: out.reason, set: { last_error: out.reason } });
      }
    } catch (e) {
      if (isEngineError(e, 'queue/lease-lost') || lost.signal.aborted) {
        log.warn('queue entry lease lost; another worker owns it now', { entry: entry.id, owner });
        return;
      }
      if (isEngineError(e, 'cancelled')) throw e;
      const why = describeError(e);
      log.error('queue entry hit an unexpected error', { entry: entry.id, error: why });
      const current = getEntry(db, entry.id);
      if (!current || current.lease_owner !== owner || END_STATES.has(current.state)) return;
      if (current.state === 'landing') return; // recover() decides from the ref, never guess here
      ctx.move(current, current.attempts >= MAX_ERROR_ATTEMPTS ? 'failed' : 'queued', {
        actor: 'queue', owner, reason: why, set: { last_error: why, candidate_commit: null, old_tip: null },
      });
    } finally {
      clearInterval(renew);
    }
  }

  /** Leases the first runnable entry (approval order), settling expired leases and failed dependencies on the way. */
  async function pickNext(ctx: QueueContext, owner: string): Promise<EntryRow | undefined> {
    const now = clock.now();
    const rows = db.all<EntryRow>(
      `SELECT * FROM queue_entries WHERE target_ref = ? AND (state = 'queued'
       OR (state IN ('checking', 'landing', 'conflicted') AND lease_expires_at IS NOT NULL AND lease_expires_at < ?)) ORDER BY seq`,
      [ctx.ref, now],
    );
    for (const row of rows) {
      if (row.state !== 'queued') {
        const r = await settleStale(ctx, row, (e, c, why) => markMerged(ctx, e, c, why), `lease of ${row.lease_owner} expired`);
        if (r !== 'queued') continue;
      }
      const dep = dependencyState(db, row);
      if (dep.kind === 'waiting') continue;
      if (dep.kind === 'failed') {
        try {
          ctx.move(row, 'rejected', { actor: 'queue', reason: `dependency ${dep.taskId} did not merge` });
        } catch (e) {
          if (!isEngineError(e, 'queue/lease-lost')) throw e;
        }
        continue;
      }
      const ev = acquireLease(db, row, owner, clock.now(), ctx.leaseMs);
      if (ev) {
        publish(deps, ev);
        return row;
      }
    }
    return undefined;
  }

  return {
    enqueue(changeId, opts) {
      const change = getChange(db, changeId);
      if (!change) throw new EngineError('queue/not-found', `no change request ${changeId}`);
      const active = db.get<{ id: string; state: string }>(
        "SELECT id, state FROM queue_entries WHERE change_id = ? AND kind = 'land' AND state NOT IN ('failed', 'quarantined', 'rejected', 'reverted') LIMIT 1",
        [changeId],
      );
      if (active) throw new EngineError('queue/already-queued', `change ${changeId} is already in the queue (${active.id}, ${active.state})`);
      const report = checkPatchPolicy(change.patch, { protectedPaths: deps.config.protectedPaths, maxPatchBytes: deps.config.maxPatchBytes });
      if (report.blocked) {
        const list = report.violations.map((v) => `${v.path}: ${v.message}`).join('; ');
        throw new EngineError('policy/blocked', `change ${changeId} breaks the patch policy: ${list}`, { details: { violations: report.violations } });
      }
      if ((report.needsExplicitApproval || change.needs_explicit_approval === 1) && !opts.explicitApproval) {
        throw new EngineError('policy/needs-approval', `change ${changeId} touches sensitive paths and needs explicit approval`, { details: { violations: report.violations } });
      }
      const { row, event } = insertEntry(
        db,
        { changeId, runId: change.run_id, taskId: change.task_id, kind: 'land', targetRef: ctx.ref, dependsOn: opts.dependsOnChangeIds ?? [] },
        opts.actor, clock.now(), { reason: opts.explicitApproval ? 'approved explicitly' : 'approved' },
      );
      publish(deps, event);
      return toView(row);
    },

    reject(entryId, reason) {
      const e = requireEntry(entryId);
      if (END_STATES.has(e.state) || e.state === 'landing') throw new EngineError('queue/bad-state', `entry ${entryId} is ${e.state} and cannot be rejected`);
      const ev = makeContext(deps, e.target_ref).move(e, 'rejected', { actor: 'user', reason });
      void ev;
      return toView(e);
    },

    retry(entryId) {
      const e = requireEntry(entryId);
      if (!['failed', 'quarantined', 'rejected', 'conflicted', 'blocked'].includes(e.state)) {
        throw new EngineError('queue/bad-state', `entry ${entryId} is ${e.state}; only stopped entries can be retried`);
      }
      makeContext(deps, e.target_ref).move(e, 'queued', {
        actor: 'user', reason: 'retry requested', set: { attempts: 0, last_error: null, proposal_commit: null, candidate_commit: null, old_tip: null, conflict_paths_json: '[]' },
      });
      return toView(e);
    },

    revert(id) {
      const byEntry = getEntry(db, id);
      const original = byEntry ?? db.get<EntryRow>("SELECT * FROM queue_entries WHERE change_id = ? AND kind = 'land' ORDER BY seq DESC LIMIT 1", [id]);
      if (!original) throw new EngineError('queue/not-found', `no queue entry or change ${id}`);
      if (original.kind !== 'land' || original.state !== 'merged') {
        throw new EngineError('queue/bad-state', `only a merged change can be reverted; ${original.id} is ${original.state}`);
      }
      const { row, event } = insertEntry(
        db,
        { changeId: original.change_id, runId: original.run_id, taskId: original.task_id, kind: 'revert', targetRef: original.target_ref, dependsOn: [] },
        'user', clock.now(), { reason: `revert of ${original.landed_commit?.slice(0, 10)}`, data: { reverts: original.id } },
      );
      publish(deps, event);
      return toView(row);
    },

    async runUntilIdle(signal) {
      const sig = signal ?? new AbortController().signal;
      for (const b of db.all<EntryRow>("SELECT * FROM queue_entries WHERE target_ref = ? AND state = 'blocked' ORDER BY seq", [ctx.ref])) {
        ctx.move(b, 'queued', { actor: 'queue', reason: 'retrying after the files that blocked it may be clean' });
      }
      const workers = Math.max(1, deps.config.queueWorkers);
      const active = new Set<Promise<void>>();
      const failures: unknown[] = [];
      for (;;) {
        if (sig.aborted) break;
        while (active.size < workers) {
          const owner = `${workerPrefix}/${++workerSeq}`;
          const entry = await pickNext(ctx, owner);
          if (!entry) break;
          const p: Promise<void> = processEntry(ctx, entry, owner, sig).catch((e) => void failures.push(e)).finally(() => active.delete(p));
          active.add(p);
        }
        if (active.size === 0) break;
        await Promise.race(active);
      }
      await Promise.all(active);
      throwIfAborted(sig);
      if (failures.length > 0) throw failures[0];
    },

    async recover() {
      return recoverQueue(ctx, workerPrefix, (e, c, why) => markMerged(ctx, e, c, why));
    },

    list(): QueueEntryView[] {
      return listEntries(db).map(toView);
    },

    metrics() {
      return computeMetrics(db, clock.now());
    },

    targetRef() {
      return ctx.ref;
    },
  };
}
