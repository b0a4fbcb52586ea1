import fs from 'node:fs';
import path from 'node:path';
import { EngineError, isEngineError, throwIfAborted } from '../errors';
import type { Logger } from '../ports';
import { FileLock } from '../store/lock';
import { nodeStoreFs } from '../store/fs-port';

/**
 * One landing at a time per checked-out worktree, across processes.
 *
 * Why: a landing moves the ref and then the user's checkout (`read-tree -m -u`). Between the
 * two, the checkout's index still holds the old tip, so `git status` in that worktree shows
 * the landed files as changed. Another process checking for the user's edits in that window
 * saw its own path "dirty" and blocked an entry whose file was clean (issue 9, B5); and its
 * `read-tree` raced ours for index.lock. Holding this lock from the dirty check to the end of
 * the worktree update makes both see a settled checkout.
 *
 * The lock is the store's O_EXCL lock file (pid, host, token; broken when its process is dead),
 * kept in `<worktree git dir>/hyperion-landing/`, taken without blocking the thread: a busy lock
 * is retried on a timer. Holders in the same process queue on a promise chain first, since a
 * lock held by our own pid is never stale.
 */

const local = new Map<string, Promise<void>>();
const RETRY_MS = 15;

export interface LandingLockOptions {
  log: Logger;
  signal?: AbortSignal;
  /** Give up after this long (default 120 s): a live holder is expected to finish in seconds. */
  timeoutMs?: number;
  /** A lock older than this is stale even if its process lives (default 10 min). */
  staleMs?: number;
}

/** Runs `fn` while holding the landing lock of the worktree whose git dir is `gitDir`. */
export async function withLandingLock<T>(gitDir: string, fn: () => Promise<T>, o: LandingLockOptions): Promise<T> {
  const dir = path.join(gitDir, 'hyperion-landing');
  const before = local.get(dir) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((r) => (done = r));
  const chained = before.then(() => mine);
  local.set(dir, chained);
  try {
    await before;
    const lock = await acquire(dir, o);
    try {
      return await fn();
    } finally {
      lock.release();
    }
  } finally {
    done();
    if (local.get(dir) === chained) local.delete(dir);
  }
}

async function acquire(dir: string, o: LandingLockOptions): Promise<FileLock> {
  fs.mkdirSync(dir, { recursive: true });
  const lock = new FileLock({
    fs: nodeStoreFs, dir, timeoutMs: 0, staleMs: o.staleMs ?? 600_000, log: o.log,
    writeFailed: (e, what) => new EngineError('queue/landing-lock', `could not ${what} ${dir}: ${String(e)}`, { cause: e }),
  });
  const deadline = Date.now() + (o.timeoutMs ?? 120_000);
  for (;;) {
    throwIfAborted(o.signal);
    try {
      lock.acquire();
      return lock;
    } catch (e) {
      if (!isEngineError(e, 'store/locked')) throw e;
      if (Date.now() >= deadline) {
        throw new EngineError('queue/landing-lock', `another process has been landing on this checkout for too long (${dir}/lock)`, { cause: e });
      }
    }
    await new Promise((r) => setTimeout(r, RETRY_MS));
  }
}

