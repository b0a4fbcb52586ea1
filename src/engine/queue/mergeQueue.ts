import os from 'node:os';
import { isStoppedEntry, type QueueEntryView } from '../api';
import { assertNever, describeError, EngineError, isEngineError, throwIfAborted } from '../errors';
import { IndexTemplates } from '../git/plumbing';
import { makeContext, publish, resolveTargetRef, type QueueContext } from './context';
import {
  acquireLeases, dependencyState, END_STATES, getChange, getEntry, insertEntry, listEntries, renewLeases, transitionMany,
} from './entries';
import { approvalMatches, returnToReview } from '../changes/lifecycle';
import type { EngineEvent } from '../events';
import { landBatch, type LandOutcome, type ReadyEntry } from './landing';
import { Limit } from './limit';
import { computeMetrics } from './metrics';
import { buildProposals, landablePatch, landablePolicy, type Proposal } from './prepare';
import { leaseHolderDead, recoverQueue, releaseInFlight, settleStale } from './recovery';
import { requeueCleanBlocked } from './blocked';
import { readCheckOutput } from './checkOutput';
import { entryViews } from './reason';
import { describeDirty } from './worktree';
import { toView, type ChangeRow, type EntryRow, type MergeQueue, type MergeQueueDeps, type RegeneratedChange } from './types';

/** Unexpected (non-policy, non-conflict) errors an entry may hit before it is failed. */
const MAX_ERROR_ATTEMPTS = 3;
/** Entries one pass holds leased at a time (preparing or waiting to land). */
const MAX_IN_FLIGHT = 64;
/** Entries whose proposals one worker builds together (see buildProposals). */
const PREPARE_GROUP_MAX = 16;

/** An entry leased by this pass. */
interface Slot {
  entry: EntryRow;
  status: 'preparing' | 'ready' | 'done';
  ready?: ReadyEntry;
  /** The lease was lost: whatever is in progress is dropped. */
  lost?: boolean;
}

type Moves = Parameters<QueueContext['moveMany']>[0];

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
  let workerSeq = 0;
  const ctx = makeContext(deps, resolveTargetRef(deps.repo, deps.targetRef ?? deps.config.targetRef));

  function requireEntry(id: string): EntryRow {
    const e = getEntry(db, id);
    if (!e) throw new EngineError('queue/not-found', `no queue entry ${id}`);
    return e;
  }

  function markMerged(ctx: QueueContext, entry: EntryRow, commit: string, reason: string, owner?: string): void {
    ctx.moveMany(mergedMoves(entry, commit, reason, owner));
  }

  async function handleConflict(ctx: QueueContext, entry: EntryRow, owner: string, tip: string, paths: string[]): Promise<void> {
    // Counted over every entry of the change: a regenerated change is re-approved into a new entry.
    const before = db.get<{ n: number }>(
      "SELECT COUNT(*) AS n FROM events WHERE kind = 'queue/state' AND to_state = 'conflicted' AND subject_id IN (SELECT id FROM queue_entries WHERE change_id = ?)",
      [entry.change_id],
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
    let res: RegeneratedChange | undefined;
    try {
      res = await deps.regenerate({ changeId: entry.change_id, newTip: tip, conflictPaths: paths });
    } catch (e) {
      return void quarantine(`regeneration failed: ${describeError(e)}`);
    }
    if (!res) return void quarantine('the agent could not regenerate the change');
    // The approval was given to the old patch: the new one goes back to review (approve-all
    // approves it again only if the policy still allows it). This entry ends; approving the
    // new version queues a new one.
    const at = clock.now();
    const reason = `regenerated against ${tip.slice(0, 10)} after a conflict in ${list}`;
    const events: EngineEvent[] = [];
    let version = 0;
    db.transaction(() => {
      events.length = 0;
      events.push(...transitionMany(db, [{ entry, to: 'superseded', o: { actor: 'agent', owner, at, reason, data: { newTip: tip } } }]));
      version = returnToReview(db, events, { changeId: entry.change_id, patch: res.patch, baseCommit: res.baseCommit, at, reason, review: res.review, summary: res.summary, verification: res.verification });
    });
    for (const ev of events) publish(deps, ev);
    log.info('a regenerated change went back to review', { changeId: entry.change_id, version });
    await deps.onReturnedForReview?.(entry.change_id);
  }

  /**
   * Leases up to `max` runnable entries (approval order) in ONE transaction, settling expired
   * leases and failed dependencies on the way.
   */
  async function pickRunnable(ctx: QueueContext, owner: string, max: number): Promise<EntryRow[]> {
    const now = clock.now();
    // In flight under an expired lease, or under one whose process died (it can never renew it).
    const rows = db.all<EntryRow>(
      `SELECT * FROM queue_entries WHERE target_ref = ? AND (state = 'queued'
       OR (state IN ('checking', 'landing', 'conflicted') AND lease_owner IS NOT NULL)) ORDER BY seq`,
      [ctx.ref],
    ).filter((r) => r.state === 'queued' || (r.lease_expires_at !== null && r.lease_expires_at < now) || leaseHolderDead(r.lease_owner));
    const take: EntryRow[] = [];
    for (const row of rows) {
      if (take.length >= max) break;
      if (row.state !== 'queued') {
        const why = row.lease_expires_at !== null && row.lease_expires_at < now ? `lease of ${row.lease_owner} expired` : `lease holder ${row.lease_owner} is no longer running`;
        const r = await settleStale(ctx, row, (e, c, why2) => markMerged(ctx, e, c, why2), why);
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
      take.push(row);
    }
    if (take.length === 0) return [];
    const { rows: got, events } = acquireLeases(db, take, owner, clock.now(), ctx.leaseMs);
    for (const ev of events) publish(deps, ev);
    return got;
  }

  /** After an unexpected error: back to the queue (or failed after MAX_ERROR_ATTEMPTS), unless mid-landing. */
  function settleUnexpected(ctx: QueueContext, entry: EntryRow, owner: string, e: unknown): void {
    const why = describeError(e);
    log.error('queue entry hit an unexpected error', { entry: entry.id, error: why });
    const current = getEntry(db, entry.id);
    if (!current || current.lease_owner !== owner || END_STATES.has(current.state)) return;
    if (current.state === 'landing') return; // recover() decides from the ref, never guess here
    ctx.move(current, current.attempts >= MAX_ERROR_ATTEMPTS ? 'failed' : 'queued', {
      actor: 'queue', owner, reason: why, set: { last_error: why, candidate_commit: null, old_tip: null },
    });
  }

  /** Builds the proposals of a group of entries; empty changes settle here as merged without a commit. */
  async function prepareGroup(ctx: QueueContext, group: Slot[], owner: string, templates: IndexTemplates): Promise<void> {
    const t0 = ctx.timer();
    const live: Array<{ slot: Slot; change: ChangeRow }> = [];
    for (const slot of group) {
      if (slot.lost) continue;
      const change = getChange(db, slot.entry.change_id);
      if (change && slot.entry.kind === 'land' && !approvalMatches(change)) {
        // An approval binds to the exact patch; never land a patch nobody approved.
        const why = `the patch of change ${change.id} is not the one that was approved (v${change.version}); approve it again`;
        settleSlot(ctx, slot, owner, () => ctx.move(slot.entry, 'failed', { actor: 'queue', owner, reason: why, set: { last_error: why } }));
      } else if (change) live.push({ slot, change });
      else settleSlot(ctx, slot, owner, () => ctx.move(slot.entry, 'failed', { actor: 'queue', owner, reason: `change ${slot.entry.change_id} does not exist` }));
    }
    let proposals: Proposal[];
    try {
      proposals = await buildProposals(db, ctx.repo, live.map((l) => ({ entry: l.slot.entry, change: l.change })), templates);
    } catch (e) {
      if (isEngineError(e, 'cancelled')) throw e;
      for (const { slot } of live) settleSlot(ctx, slot, owner, () => settleUnexpected(ctx, slot.entry, owner, e));
      return;
    } finally {
      ctx.time('prepare proposals (parallel, per group)', t0);
    }
    ctx.crash('after-proposal');
    live.forEach(({ slot, change }, i) => {
      const p = proposals[i]!;
      if (slot.lost) return void (slot.status = 'done');
      switch (p.kind) {
        case 'failed':
          return settleSlot(ctx, slot, owner, () => ctx.move(slot.entry, 'failed', { actor: 'queue', owner, reason: p.reason, set: { last_error: p.reason } }));
        case 'empty':
          // An agent that changed nothing: its task is done, but there is nothing to commit.
          return settleSlot(ctx, slot, owner, () => ctx.move(slot.entry, 'merged', { actor: 'queue', owner, reason: 'no changes', set: { landed_commit: null, last_error: null } }));
        case 'ready':
          slot.ready = { entry: slot.entry, change, base: p.base, tree: p.tree, changes: p.changes, repairs: p.repairs };
          slot.status = 'ready';
          return;
        default:
          return assertNever(p, 'proposal');
      }
    });
  }

  /** Ends a slot with `settle`, tolerating a lease someone else took meanwhile. */
  function settleSlot(ctx: QueueContext, slot: Slot, owner: string, settle: () => void): void {
    slot.status = 'done';
    try {
      settle();
    } catch (e) {
      if (!isEngineError(e, 'queue/lease-lost')) throw e;
      log.warn('queue entry lease lost; another worker owns it now', { entry: slot.entry.id, owner });
    }
  }

  /** landing → merged, plus marking the reverted original when this is a revert. */
  function mergedMoves(entry: EntryRow, commit: string, reason: string, owner?: string): Moves {
    const moves: Moves = [
      { entry, to: 'merged', o: { actor: 'queue', owner, reason, set: { landed_commit: commit, last_error: null }, data: { commit } } },
    ];
    if (entry.kind === 'revert') {
      const original = db.get<EntryRow>(
        "SELECT * FROM queue_entries WHERE change_id = ? AND kind = 'land' AND state = 'merged' ORDER BY seq DESC LIMIT 1",
        [entry.change_id],
      );
      if (original) moves.push({ entry: original, to: 'reverted', o: { actor: 'queue', reason: `reverted by ${commit.slice(0, 10)}`, data: { revertCommit: commit } } });
    }
    return moves;
  }

  /** Lands a ready prefix and applies every outcome; conflicts go to `onConflict`. */
  async function land(ctx: QueueContext, batch: Slot[], owner: string, signal: AbortSignal, onConflict: (s: Slot, tip: string, paths: string[]) => void): Promise<void> {
    let outcomes: Map<string, LandOutcome>;
    try {
      outcomes = await landBatch(ctx, batch.map((s) => s.ready!), owner, signal);
    } catch (e) {
      if (isEngineError(e, 'cancelled')) throw e;
      for (const s of batch) {
        s.status = 'done';
        settleUnexpected(ctx, s.entry, owner, e);
      }
      return;
    }
    const t0 = ctx.timer();
    const merged = batch.filter((s) => outcomes.get(s.entry.id)?.kind === 'merged');
    const movesOf = (s: Slot) => {
      const o = outcomes.get(s.entry.id) as { kind: 'merged'; commit: string };
      return mergedMoves(s.entry, o.commit, `landed as ${o.commit.slice(0, 10)}`, owner);
    };
    if (merged.length > 0) {
      try {
        ctx.moveMany(merged.flatMap(movesOf));
      } catch (e) {
        if (!isEngineError(e, 'queue/lease-lost')) {
          // The commits are on the ref; only the bookkeeping failed (e.g. store/locked).
          // releaseInFlight() settles them from the ref when the pass ends.
          log.warn('could not record landed entries as merged; settling them at the end of the pass', { error: describeError(e) });
          for (const s of merged) s.status = 'done';
          return;
        }
        // Someone took one over; the others still settle (the taker finds its commit on the ref).
        for (const s of merged) {
          try {
            ctx.moveMany(movesOf(s));
          } catch (e2) {
            if (!isEngineError(e2, 'queue/lease-lost')) throw e2;
          }
        }
      }
      ctx.time('merged transaction', t0);
    }
    for (const s of batch) {
      const o = outcomes.get(s.entry.id);
      if (!o || o.kind === 'deferred') continue;
      s.status = 'done';
      switch (o.kind) {
        case 'merged':
        case 'lost':
          break;
        case 'blocked': {
          const why = describeDirty(o.paths);
          ctx.move(s.entry, 'blocked', {
            actor: 'queue', owner, reason: `blocked: ${why}`, set: { last_error: why, blocked_paths_json: JSON.stringify(o.paths.map((d) => d.path)) }, data: { paths: o.paths },
          });
          break;
        }
        case 'error':
          settleUnexpected(ctx, s.entry, owner, new EngineError('queue/worktree-update', o.reason));
          break;
        case 'conflicted':
          onConflict(s, o.tip, o.paths);
          break;
        case 'failed':
          ctx.move(s.entry, 'failed', {
            actor: 'queue', owner, reason: o.reason, set: { last_error: o.reason }, data: o.timedOut === undefined ? undefined : { timedOut: o.timedOut },
          });
          break;
        default:
          assertNever(o, 'land outcome');
      }
    }
  }

  return {
    enqueue(changeId, opts) {
      const change = getChange(db, changeId);
      if (!change) throw new EngineError('queue/not-found', `no change request ${changeId}`);
      const active = db.get<{ id: string; state: string }>(
        "SELECT id, state FROM queue_entries WHERE change_id = ? AND kind = 'land' AND state NOT IN ('failed', 'quarantined', 'rejected', 'reverted', 'superseded') LIMIT 1",
        [changeId],
      );
      if (active) throw new EngineError('queue/already-queued', `change ${changeId} is already in the queue (${active.id}, ${active.state})`);
      // The policy sees exactly the text that will be applied: repaired, excluded files dropped.
      const report = landablePolicy(landablePatch(change), deps.config) ?? { blocked: false, needsExplicitApproval: false, violations: [] };
      if (report.blocked) {
        const list = report.violations.map((v) => `${v.path}: ${v.message}`).join('; ');
        throw new EngineError('policy/blocked', `change ${changeId} breaks the patch policy: ${list}`, { details: { violations: report.violations } });
      }
      if ((report.needsExplicitApproval || change.needs_explicit_approval === 1) && !opts.explicitApproval) {
        throw new EngineError('policy/needs-approval', `change ${changeId} touches sensitive paths and needs explicit approval`, { details: { violations: report.violations } });
      }
      const { row, event, changeEvents } = insertEntry(
        db,
        { changeId, runId: change.run_id, taskId: change.task_id, kind: 'land', targetRef: ctx.ref, dependsOn: opts.dependsOnChangeIds ?? [] },
        opts.actor, clock.now(), { reason: opts.explicitApproval ? 'approved explicitly' : 'approved' },
      );
      // Inside the caller's transaction (approve + enqueue) the caller publishes after the commit.
      if (opts.events) opts.events.push(event, ...changeEvents);
      else for (const ev of [event, ...changeEvents]) publish(deps, ev);
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
      if (!isStoppedEntry(e.state)) {
        throw new EngineError('queue/bad-state', `entry ${entryId} is ${e.state}; only stopped entries can be retried`);
      }
      makeContext(deps, e.target_ref).move(e, 'queued', {
        actor: 'user', reason: 'retry requested', set: { attempts: 0, last_error: null, proposal_commit: null, candidate_commit: null, old_tip: null, conflict_paths_json: '[]', blocked_paths_json: '[]' },
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
      if (!original.landed_commit) throw new EngineError('queue/bad-state', `${original.id} landed no commit (it had no changes); there is nothing to revert`);
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
      // Every pass first re-checks what waits on the user's files (the CLI's only chance to).
      await requeueCleanBlocked(ctx, sig);
      // One lease owner per pass: every entry this pass holds is renewed in one write.
      const owner = `${workerPrefix}/${++workerSeq}`;
      const templates = new IndexTemplates(ctx.repo);
      const slots = new Map<string, Slot>();
      const background = new Set<Promise<void>>();
      const failures: unknown[] = [];
      const workers = Math.max(1, deps.config.queueWorkers);
      const prepareLimit = new Limit(workers);
      let wake: () => void = () => {};
      let woken = new Promise<void>((r) => (wake = r));
      const track = (p: Promise<void>) => {
        const q: Promise<void> = p.catch((e) => void failures.push(e)).finally(() => {
          background.delete(q);
          wake();
        });
        background.add(q);
      };
      let needFill = true;
      const renew = setInterval(() => {
        if (slots.size === 0) return;
        try {
          const ours = renewLeases(db, owner, clock.now(), ctx.leaseMs);
          for (const [id, s] of slots) {
            if (ours.has(id)) continue;
            s.lost = true;
            slots.delete(id);
            log.warn('queue entry lease lost; another worker owns it now', { entry: id, owner });
          }
        } catch (e) {
          log.warn('could not renew queue leases', { error: describeError(e) });
        }
      }, Math.max(50, Math.floor(ctx.leaseMs / 3)));
      const onConflict = (s: Slot, tip: string, paths: string[]) => {
        slots.delete(s.entry.id);
        track(handleConflict(ctx, s.entry, owner, tip, paths).then(() => void (needFill = true)));
      };
      try {
        for (;;) {
          if (sig.aborted || failures.length > 0) break;
          if (needFill && slots.size < MAX_IN_FLIGHT) {
            needFill = false;
            const t0 = ctx.timer();
            const leased = await pickRunnable(ctx, owner, MAX_IN_FLIGHT - slots.size);
            ctx.time('lease transaction', t0);
            if (leased.length > 0) {
              ctx.crash('after-lease');
              needFill = true; // more may be runnable beyond the cap once these leave
            }
            // Groups small enough that landing starts early and every worker has one.
            const size = Math.min(PREPARE_GROUP_MAX, Math.max(1, Math.ceil(leased.length / workers)));
            for (let i = 0; i < leased.length; i += size) {
              const group = leased.slice(i, i + size).map((entry): Slot => ({ entry, status: 'preparing' }));
              for (const slot of group) slots.set(slot.entry.id, slot);
              track(prepareLimit.run(() => prepareGroup(ctx, group, owner, templates)));
            }
          }
          for (const [id, s] of slots) if (s.status === 'done') slots.delete(id);
          // Approval order is landing order: land the longest ready prefix.
          const batch: Slot[] = [];
          for (const s of [...slots.values()].sort((a, b) => a.entry.seq - b.entry.seq)) {
            if (s.status !== 'ready') break;
            batch.push(s);
          }
          if (batch.length > 0) {
            await land(ctx, batch, owner, sig, onConflict);
            for (const s of batch) if (s.status === 'done') slots.delete(s.entry.id);
            needFill = true;
            continue;
          }
          if (slots.size === 0 && background.size === 0) {
            if (!needFill) break;
            continue;
          }
          await woken;
          woken = new Promise<void>((r) => (wake = r));
        }
        await Promise.all(background);
      } finally {
        clearInterval(renew);
        await Promise.allSettled(background);
        await releaseInFlight(ctx, owner, (e, c, why) => markMerged(ctx, e, c, why, owner));
        await templates.dispose();
      }
      throwIfAborted(sig);
      if (failures.length > 0) throw failures[0];
    },

    async recheckBlocked(signal) {
      return requeueCleanBlocked(ctx, signal);
    },

    async recover() {
      return recoverQueue(ctx, workerPrefix, (e, c, why) => markMerged(ctx, e, c, why));
    },

    list(): QueueEntryView[] {
      return entryViews(db, listEntries(db), clock.now());
    },

    checkOutput(entryId, attempt) {
      return readCheckOutput(db, entryId, attempt);
    },

    metrics() {
      return computeMetrics(db, clock.now());
    },

    targetRef() {
      return ctx.ref;
    },
  };
}
