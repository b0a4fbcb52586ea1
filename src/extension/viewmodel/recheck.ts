import type { Engine } from '../../engine/api';
import { describeError } from '../../engine/errors';
import type { Logger } from '../../engine/ports';

/**
 * When to ask the engine to re-check blocked queue entries. An entry is blocked while the
 * user has unsaved or uncommitted edits to a file its change touches; it can land once the
 * file is saved clean, reverted or committed. The extension watches for exactly those
 * moments and calls `engine.recheckBlocked()`, debounced, and only while something is
 * blocked. Pure: the timer is injected so tests drive it without a clock.
 */

/**
 * Whether a change to `rel` (relative to the repository root, `/`-separated) can unblock
 * an entry: any working-tree file, and git's refs and HEAD (a commit or a checkout). Not
 * git's index (a re-check refreshes it, which would re-trigger itself), not git objects,
 * and not Hyperion's own store and scratch files, which every re-check writes.
 */
export function canUnblock(rel: string): boolean {
  const p = rel.replace(/\\/g, '/').replace(/^\.\//, '');
  if (p === '' || p.startsWith('../')) return false;
  if (p.startsWith('.hyperion-tmp/') || p === '.hyperion-tmp') return false;
  if (p === '.git' || p.startsWith('.git/')) {
    const inGit = p.slice(5);
    return inGit === 'HEAD' || inGit === 'packed-refs' || inGit.startsWith('refs/heads/');
  }
  return true;
}

export interface Scheduler {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface RecheckOptions {
  /** True while some queue entry is blocked; nothing is scheduled otherwise. */
  hasBlocked: () => boolean;
  recheck: () => Promise<void>;
  onError?: (e: unknown) => void;
  delayMs?: number;
  scheduler?: Scheduler;
}

/**
 * Debounces re-check requests: a burst of saves and file events becomes one call, and a
 * request that arrives while a re-check runs schedules exactly one more afterwards.
 */
export class BlockedRecheck {
  private timer: unknown;
  private running = false;
  private again = false;
  private disposed = false;
  private readonly delayMs: number;
  private readonly scheduler: Scheduler;
  /** How many times `recheck` was called; for tests and the log. */
  calls = 0;

  constructor(private readonly o: RecheckOptions) {
    this.delayMs = o.delayMs ?? 300;
    this.scheduler = o.scheduler ?? { set: (fn, ms) => setTimeout(fn, ms), clear: (h) => clearTimeout(h as NodeJS.Timeout) };
  }

  /** Something that may unblock an entry happened. */
  poke(): void {
    if (this.disposed || !this.o.hasBlocked()) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer !== undefined) this.scheduler.clear(this.timer);
    this.timer = this.scheduler.set(() => void this.fire(), this.delayMs);
  }

  private async fire(): Promise<void> {
    this.timer = undefined;
    if (this.disposed || !this.o.hasBlocked()) return;
    this.running = true;
    this.calls += 1;
    try {
      await this.o.recheck();
    } catch (e) {
      this.o.onError?.(e);
    } finally {
      this.running = false;
    }
    if (this.again) {
      this.again = false;
      this.poke();
    }
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== undefined) this.scheduler.clear(this.timer);
    this.timer = undefined;
  }
}

/** The re-check over whichever engine is open: only while one of its entries is blocked. */
export function recheckFor(engine: () => Engine | undefined, log: Logger, scheduler?: Scheduler): BlockedRecheck {
  return new BlockedRecheck({
    hasBlocked: () => engine()?.listQueue().some((e) => e.state === 'blocked') ?? false,
    recheck: async () => {
      const e = engine();
      if (!e) return;
      log.info('re-checking blocked queue entries (a file was saved, reverted or committed)');
      await e.recheckBlocked();
    },
    onError: (e) => log.warn('re-checking blocked entries failed', { error: describeError(e) }),
    scheduler,
  });
}
