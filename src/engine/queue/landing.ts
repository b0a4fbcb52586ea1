import { describeError, isEngineError } from '../errors';
import { git } from '../git/exec';
import { changedEntriesBatch, mergeTreesBatch } from '../git/mergeTree';
import { treeChangesFromRaw, writeCommits, type CommitSpec, type TreeChange } from '../git/plumbing';
import { runCheck, type CheckResult } from './check';
import { recordCheckOutput } from './checkOutput';
import type { QueueContext } from './context';
import { getEntry } from './entries';
import { addTaken, overlaps } from './paths';
import { commitMessage, treePolicyFailure } from './prepare';
import type { ChangeRow, EntryRow } from './types';
import { withLandingLock } from './landingLock';
import {
  dirtyPaths, finishInterruptedUpdate, readMarker, removeMarker, updateWorktree, worktreeWithRef, writeMarker,
  type CheckedOutWorktree, type DirtyPath,
} from './worktree';

/** An entry whose proposal is built, waiting to land; `proposal` is filled in by the lander. */
export interface ReadyEntry {
  entry: EntryRow;
  change: ChangeRow;
  /** The commit the agent saw: the proposal's parent, hence the merge base. */
  base: string;
  /** The proposal: its whole tree, or its changes over `base`'s tree. */
  tree?: string;
  changes?: TreeChange[];
  repairs: string[];
  proposal?: string;
}

export type LandOutcome =
  | { kind: 'merged'; commit: string }
  | { kind: 'blocked'; paths: DirtyPath[] }
  | { kind: 'conflicted'; tip: string; paths: string[] }
  | { kind: 'failed'; reason: string; timedOut?: boolean }
  /** Not landed in this batch (overlaps an earlier entry of it, or follows a failed check): land it next. */
  | { kind: 'deferred' }
  /** Someone else holds the entry now. */
  | { kind: 'lost' }
  /** A transient error (e.g. index.lock held by another git): retried like any unexpected error. */
  | { kind: 'error'; reason: string };

/** How often a batch is rebuilt because the tip moved under us (CAS lost) before giving up. */
const MAX_CAS_ROUNDS = 5;
/**
 * How often a batch is rebuilt because another process landed while we waited for the
 * checkout's landing lock. Each one means someone else made progress, so the bound is only a
 * backstop against a stream that never ends.
 */
const MAX_WAIT_ROUNDS = 100;

interface Link {
  item: ReadyEntry;
  /** The entry's change over the batch's tip (diff-tree raw) and its paths. */
  changes: TreeChange[];
  paths: string[];
  candidate?: string;
}

function short(sha: string): string {
  return sha.slice(0, 10);
}

/**
 * Lands a batch of ready entries (in approval order, all leased by `owner` and in `checking`)
 * on the target ref, with a handful of git processes for the whole batch:
 *
 *  1. one fast-import writes every proposal commit and, per distinct base B, a commit with the
 *     tip's tree and parent B; merging that with the proposal makes B the merge base even when
 *     B is not in the target's history (a dependent's base built from its dependencies' patches);
 *  2. one `merge-tree --stdin` pre-checks every entry against the tip; one `diff-tree --stdin`
 *     gives each clean entry's change Δ over the tip, which the tree policy checks;
 *  3. the entries whose Δ touch paths no earlier entry of the batch touched are chained:
 *     C_i = C_{i-1} + Δ_i, one commit per entry, all written by one fast-import. With disjoint
 *     paths that is exactly the clean three-way merge of C_{i-1} and the entry's merge (base =
 *     the tip). The first overlapping entry and all after it are deferred to the next batch
 *     (approval order stays landing order), where it is merged for real onto a tip that
 *     contains the entry it overlaps;
 *  4. the check command, when configured, runs on every chained candidate (in parallel); the
 *     first failure fails its entry and defers the later ones (their trees contained it);
 *  5. one status of exactly the changed paths in the checked-out worktree (if the target is
 *     checked out); entries whose paths are dirty are `blocked` and the batch is rebuilt;
 *  6. ONE transaction records the intent (every entry → `landing` with candidate and old tip),
 *     a worktree marker, `update-ref <ref> <last> <tip>` (CAS), `read-tree -m -u` (refuses to
 *     overwrite local edits; on refusal the ref is put back), and ONE transaction → `merged`.
 * Crash safety: every candidate of a batch is an ancestor of the last, so recovery's
 * "candidate is on the target" test settles each entry exactly once.
 */
export async function landBatch(ctx: QueueContext, items: ReadyEntry[], owner: string, signal: AbortSignal): Promise<Map<string, LandOutcome>> {
  const { deps, repo, ref, db } = ctx;
  const out = new Map<string, LandOutcome>();
  const settle = (it: ReadyEntry, o: LandOutcome) => void out.set(it.entry.id, o);
  let live = items.slice();
  let waited = 0;
  for (let round = 0; round < MAX_CAS_ROUNDS && live.length > 0; round++) {
    const t0 = ctx.timer();
    const [tip, tipTree] = await ctx.tipAndTree();
    ctx.time('tip', t0);

    // 1. proposal commits + one "tip tree on base B" commit per distinct base.
    let t = ctx.timer();
    const now = deps.clock.now();
    const specs: CommitSpec[] = [];
    const proposalAt = new Map<number, ReadyEntry>();
    for (const it of live) {
      if (it.proposal) continue;
      proposalAt.set(specs.length, it);
      specs.push({ parent: it.base, tree: it.tree, changes: it.changes, message: `proposal for ${it.entry.change_id}`, date: now });
    }
    const bases = [...new Set(live.map((it) => it.base))];
    const oursAt = new Map<string, number>();
    for (const b of bases) {
      oursAt.set(b, specs.length);
      specs.push({ parent: b, tree: tipTree, message: `target ${tip} seen from ${b}`, date: now });
    }
    const written = await writeCommits(repo, specs, { signal });
    for (const [i, it] of proposalAt) it.proposal = written[i];
    ctx.time('proposal+base commits', t);

    // 2. pre-check every entry against the tip, and its change over the tip.
    t = ctx.timer();
    const merges = await mergeTreesBatch(repo, live.map((it) => ({ ours: written[oursAt.get(it.base)!]!, theirs: it.proposal! })), { signal });
    const clean: ReadyEntry[] = [];
    const mergedTrees: string[] = [];
    live.forEach((it, i) => {
      const m = merges[i]!;
      if (!m.clean) settle(it, { kind: 'conflicted', tip, paths: m.conflictPaths });
      else {
        clean.push(it);
        mergedTrees.push(m.tree);
      }
    });
    const diffs = await changedEntriesBatch(repo, mergedTrees.map((tree) => ({ from: tipTree, to: tree })), { signal });
    ctx.time('merge-tree + diff-tree (batch)', t);

    // 3. chain the entries whose changes do not overlap.
    const chain: Link[] = [];
    const taken = new Set<string>();
    const dirs = new Set<string>();
    let cut = false;
    clean.forEach((it, i) => {
      const d = diffs[i]!;
      if (d.paths.length === 0) return settle(it, { kind: 'failed', reason: `nothing to land: the target at ${short(tip)} already has this change` });
      const policy = treePolicyFailure(d.raw, deps.config);
      if (policy) return settle(it, { kind: 'failed', reason: policy });
      // Approval order is landing order: from the first overlap on, everything waits.
      if (cut || d.paths.some((p) => overlaps(p, taken, dirs))) {
        cut = true;
        return settle(it, { kind: 'deferred' });
      }
      for (const p of d.paths) addTaken(p, taken, dirs);
      chain.push({ item: it, changes: treeChangesFromRaw(d.raw), paths: d.paths });
    });
    if (chain.length === 0) return out;
    t = ctx.timer();
    const commits = await writeCommits(
      repo,
      chain.map((l, i) => ({ parent: i === 0 ? tip : i - 1, changes: l.changes, message: commitMessage(db, l.item.entry, l.item.change), date: now })),
      { signal },
    );
    chain.forEach((l, i) => void (l.candidate = commits[i]));
    ctx.time('candidate commits', t);
    ctx.crash('after-commit-tree');

    // 4. the check command on every candidate; land the prefix that passed.
    if (deps.config.checkCommand) {
      t = ctx.timer();
      const cut = await firstFailingCheck(ctx, chain, signal);
      ctx.time('check command', t);
      if (cut) {
        settle(chain[cut.index]!.item, { kind: 'failed', reason: cut.reason, timedOut: cut.timedOut });
        for (const l of chain.slice(cut.index + 1)) settle(l.item, { kind: 'deferred' });
        chain.length = cut.index;
        if (chain.length === 0) return out;
      }
    }

    // 5.-6. under the checkout's landing lock (see landingLock.ts): dirty check, intent, CAS,
    // worktree update, so no other process's landing is ever half-way in the checkout we read.
    const wt = await worktreeWithRef(repo, ref, ctx.gitDirs);
    const step = wt
      ? await withLandingLock(wt.gitDir, () => landChain(ctx, chain, tip, owner, wt, settle), { log: deps.log, signal })
      : await landChain(ctx, chain, tip, owner, undefined, settle);
    if (step === 'done') return out;
    if (step === 'rebuild-free') round--; // not a CAS round: nothing was attempted yet
    if (step === 'moved' && ++waited < MAX_WAIT_ROUNDS) round--;
    // Build the batch again from what is neither settled nor lost (deferred ones come back).
    live = live.filter((it) => !out.has(it.entry.id) || out.get(it.entry.id)?.kind === 'deferred');
    for (const it of live) out.delete(it.entry.id);
    live.sort((a, b) => a.entry.seq - b.entry.seq);
  }
  for (const it of live) if (!out.has(it.entry.id)) settle(it, { kind: 'failed', reason: `the target ref kept moving; gave up after ${MAX_CAS_ROUNDS} attempts` });
  return out;
}

/**
 * Steps 5 and 6 of landBatch for a chain whose candidates are built (and checked): blocks the
 * entries whose paths are dirty in the checkout, else records the intent, moves the ref (CAS)
 * and the checkout. Returns 'done' when every entry of the chain is settled, 'rebuild' when
 * the target moved (a CAS round), 'rebuild-free' when entries were blocked before any attempt,
 * 'moved' when another landing moved the target while we waited for the lock (nothing attempted).
 */
async function landChain(
  ctx: QueueContext,
  chain: Link[],
  tip: string,
  owner: string,
  wt: CheckedOutWorktree | undefined,
  settle: (it: ReadyEntry, o: LandOutcome) => void,
): Promise<'done' | 'rebuild' | 'rebuild-free' | 'moved'> {
  const { deps, repo, ref, db } = ctx;
  let t = ctx.timer();
  // Under the lock the target only moves by someone who does not take it (the user, a push):
  // a landing that finished while we waited makes our candidates stale, so build them again.
  if (wt && (await ctx.tip()) !== tip) return 'moved';
  if (wt) {
    // A process of ours that died mid-update left the checkout behind its ref: finish that
    // first, or its files would look like the user's edits.
    if (await readMarker(wt)) await finishInterruptedUpdate(wt, await ctx.tip());
    const dirty = await dirtyPaths(wt, chain.flatMap((l) => l.paths), deps.isPathDirtyInEditor);
    if (dirty.length > 0) {
      const byPath = new Map(dirty.map((d) => [d.path, d]));
      for (const l of chain) {
        const mine = l.paths.flatMap((p) => byPath.get(p) ?? []);
        if (mine.length > 0) settle(l.item, { kind: 'blocked', paths: mine });
      }
      ctx.time('worktree status', t);
      return 'rebuild-free';
    }
  }
  ctx.time('worktree status', t);

  const last = chain[chain.length - 1]!.candidate!;
  t = ctx.timer();
  try {
    ctx.moveMany(chain.map((l) => ({
      entry: l.item.entry, to: 'landing' as const,
      o: {
        actor: 'queue' as const, owner, reason: `landing ${short(l.candidate!)} on ${short(tip)}`,
        set: { candidate_commit: l.candidate!, old_tip: tip, proposal_commit: l.item.proposal!, repairs_json: JSON.stringify(l.item.repairs) },
        data: { candidate: l.candidate, oldTip: tip },
      },
    })));
  } catch (e) {
    if (!isEngineError(e, 'queue/lease-lost')) throw e;
    // Someone took some of them: drop those and build the batch again.
    for (const l of chain) {
      const now2 = getEntry(db, l.item.entry.id);
      if (!now2 || now2.lease_owner !== owner || now2.state !== 'checking') settle(l.item, { kind: 'lost' });
    }
    return 'rebuild';
  }
  ctx.time('intent transaction', t);
  ctx.crash('before-update-ref');
  t = ctx.timer();
  if (wt) await writeMarker(wt, { pid: process.pid, oldTip: tip, newTip: last, at: deps.clock.now() });
  const cas = await git(['update-ref', '-m', `hyperion: land ${chain.length} change(s)`, ref, last, tip], { cwd: repo, check: false });
  ctx.time('update-ref', t);
  if (cas.code !== 0) {
    if (wt) await removeMarker(wt);
    ctx.moveMany(chain.map((l) => ({ entry: l.item.entry, to: 'checking' as const, o: { actor: 'queue' as const, owner, reason: 'the target moved during landing; merging again' } })));
    return 'rebuild';
  }
  ctx.crash('after-update-ref');
  if (wt) {
    ctx.crash('mid-worktree-update');
    t = ctx.timer();
    try {
      await updateWorktree(wt, tip, last);
    } catch (e) {
      // Put the ref back so it never points past what the user's checkout shows.
      await git(['update-ref', '-m', 'hyperion: undo landing', ref, tip, last], { cwd: repo, check: false });
      await removeMarker(wt);
      deps.log.warn('worktree update refused; landing undone', { entries: chain.map((l) => l.item.entry.id), error: String(e) });
      ctx.moveMany(chain.map((l) => ({ entry: l.item.entry, to: 'checking' as const, o: { actor: 'queue' as const, owner, reason: 'the worktree could not be updated; landing undone' } })));
      const dirty = await dirtyPaths(wt, chain.flatMap((l) => l.paths), deps.isPathDirtyInEditor);
      const byPath = new Map(dirty.map((d) => [d.path, d]));
      for (const l of chain) {
        const mine = l.paths.flatMap((p) => byPath.get(p) ?? []);
        if (mine.length > 0) settle(l.item, { kind: 'blocked', paths: mine });
        // Blocked only on a path that really is dirty; anything else is git's own refusal
        // (a path too long for the file system, a held index.lock) and says so.
        else if (dirty.length === 0) settle(l.item, worktreeFailure(e));
        else settle(l.item, { kind: 'deferred' });
      }
      return 'done';
    }
    await removeMarker(wt);
    ctx.time('worktree update', t);
  }
  ctx.crash('before-merged');
  for (const l of chain) settle(l.item, { kind: 'merged', commit: l.candidate! });
  return 'done';
}

/** A worktree update git refused with no dirty path to blame: a retryable error or a failure. */
function worktreeFailure(e: unknown): LandOutcome {
  const reason = describeError(e);
  const stderr = isEngineError(e) ? String(e.details?.stderr ?? '') : '';
  if (/index\.lock/.test(stderr)) return { kind: 'error', reason };
  return { kind: 'failed', reason };
}

/** Runs the check on each candidate (up to queueWorkers at once); the earliest failure, if any. */
async function firstFailingCheck(
  ctx: QueueContext,
  chain: Link[],
  signal: AbortSignal,
): Promise<{ index: number; reason: string; timedOut: boolean } | undefined> {
  const { config } = ctx.deps;
  const results: Array<Awaited<ReturnType<typeof runCheck>> | undefined> = new Array(chain.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= chain.length) return;
      // A failure before i makes i's result irrelevant: skip it.
      if (results.slice(0, i).some((r) => r && !r.ok)) return;
      const r = await (ctx.deps.runCheck ?? runCheck)(ctx.repo, chain[i]!.candidate!, config.checkCommand!, config.checkTimeoutMs, signal);
      results[i] = r;
      keepOutput(ctx, chain[i]!.item.entry, config.checkCommand!, r);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(config.queueWorkers, chain.length)) }, worker));
  for (let i = 0; i < chain.length; i++) {
    const r = results[i];
    if (r && !r.ok) return { index: i, reason: r.reason ?? 'check failed', timedOut: r.timedOut };
    if (!r) return { index: i, reason: 'check skipped', timedOut: false }; // unreachable: earlier failure returns first
  }
  return undefined;
}

/** Stores what the check printed for this attempt; a store too busy to take it costs only the output. */
function keepOutput(ctx: QueueContext, entry: EntryRow, command: string, r: CheckResult): void {
  // Numbered by lease, not by `attempts` (a user's retry resets that), so no retry overwrites
  // the output of an earlier one; checks re-run within one lease replace its output.
  let attempt = entry.attempts;
  try {
    attempt = ctx.db.get<{ n: number }>(
      "SELECT COUNT(*) AS n FROM events WHERE subject_id = ? AND kind = 'queue/state' AND to_state = 'checking' AND reason LIKE 'leased by %'",
      [entry.id],
    )?.n || entry.attempts;
    recordCheckOutput(ctx.db, {
      entryId: entry.id, attempt, command, exitCode: r.exitCode, timedOut: r.timedOut, output: r.output,
      truncated: r.truncated, failingLines: r.failingLines, durationMs: r.durationMs, at: ctx.deps.clock.now(),
    });
  } catch (e) {
    ctx.deps.log.warn('could not store the check output', { entry: entry.id, attempt, error: describeError(e) });
  }
}
