import * as fs from 'node:fs';
import { describeError } from '../errors';
import type { Logger } from '../ports';
import type { StoreDb } from './types';

export interface StoreWatchOptions {
  /** The store's folder (where `journal` and `hyperion.sqlite` live). */
  dir: string;
  db: Pick<StoreDb, 'syncFromDisk'>;
  /** Called once per burst of writes by other processes, after the Db has taken them in. */
  onForeignWrite: () => void;
  log: Logger;
  /** How often to look even when the folder watch says nothing. Default 2000 ms. */
  pollMs?: number;
  /** How long to wait after a file event for the rest of its burst. Default 50 ms. */
  debounceMs?: number;
  /** Test seam: the folder watch; default `fs.watch`. Throwing makes the poll the only way. */
  watch?: (dir: string, listener: (event: string, file: string | null) => void) => fs.FSWatcher;
}

/** The files whose change can mean another process wrote (the journal, or a new snapshot). */
const STORE_FILES = new Set(['journal', 'hyperion.sqlite']);

/**
 * Notices writes to the store by other processes (a CLI run while the editor is open) and
 * calls `onForeignWrite` after the Db has taken them in, so a host can refresh what it shows.
 *
 * A folder watch makes it quick; a slow poll backs it up, because `fs.watch` is missing or
 * silent on some file systems (network mounts, some containers). Either only triggers
 * `db.syncFromDisk()`, which costs one stat when nothing changed, and whose counter ignores
 * this process's own writes. Timers are unref'd, so a CLI process is never kept alive.
 * The caller owns the watcher and must `dispose()` it before closing the Db.
 */
export function watchStore(o: StoreWatchOptions): { dispose(): void } {
  let disposed = false;
  let last: number;
  try {
    last = o.db.syncFromDisk();
  } catch {
    last = -1; // the first successful look reports, so nothing is missed
  }
  let warned = false;
  const check = () => {
    if (disposed) return;
    let now: number;
    try {
      now = o.db.syncFromDisk();
    } catch (e) {
      // A damaged store is reported by the reads that show it; say it here only once.
      if (!warned) o.log.warn('store: could not take in writes by another process', { dir: o.dir, error: describeError(e) });
      warned = true;
      return;
    }
    warned = false;
    if (now === last) return;
    last = now;
    o.onForeignWrite();
  };

  let pending: NodeJS.Timeout | undefined;
  const soon = () => {
    if (pending || disposed) return;
    pending = setTimeout(() => {
      pending = undefined;
      check();
    }, o.debounceMs ?? 50);
    pending.unref();
  };

  let watcher: fs.FSWatcher | undefined;
  try {
    watcher = (o.watch ?? ((dir, l) => fs.watch(dir, { persistent: false }, l)))(o.dir, (_event, file) => {
      if (file === null || STORE_FILES.has(file)) soon();
    });
    watcher.on('error', (e) => {
      o.log.info('store: the folder watch stopped; looking for other processes\' writes by polling', { dir: o.dir, error: describeError(e) });
      watcher?.close();
      watcher = undefined;
    });
  } catch (e) {
    o.log.info('store: cannot watch the folder; looking for other processes\' writes by polling', { dir: o.dir, error: describeError(e) });
  }
  const poll = setInterval(check, o.pollMs ?? 2000);
  poll.unref();

  return {
    dispose() {
      disposed = true;
      clearInterval(poll);
      if (pending) clearTimeout(pending);
      watcher?.close();
    },
  };
}
