/** SQLite values as sql.js passes them. */
export type SqlValue = string | number | null | Uint8Array;
export type SqlParams = SqlValue[] | Record<string, SqlValue>;

/**
 * The durable database every engine module writes through.
 *
 * Contract:
 * - `run`, `all`, `get` are synchronous. Outside a transaction each `run` is its own
 *   durable transaction.
 * - `transaction(fn)` runs fn atomically; when it returns, the changes are on disk (fsynced).
 *   If fn throws, nothing is written and the error propagates.
 * - Several processes may open the same store; each write transaction first takes a short
 *   cross-process lock and catches up with what other processes wrote, so no update is lost.
 *   When the lock cannot be had within `lockTimeoutMs` it throws EngineError `store/locked`.
 * - SQL must be deterministic (no `random()`, `datetime('now')`): writes are journaled as
 *   statements and replayed. Pass times as parameters.
 * - Files changed after they were written are never read silently: any call that loads them
 *   may throw `store/damaged` once, after keeping the damaged file aside and recovering what
 *   was intact (the next call goes on from there); damage SQLite cannot get past is
 *   `store/corrupt`. A torn tail left by a crash is cut without a word.
 * - A write whose lock file is no longer this process's throws `store/lock-lost`, and every
 *   later write of this Db throws it too (reads still work): the process must stop.
 */
export interface Db {
  run(sql: string, params?: SqlParams): { changes: number; lastInsertRowid: number };
  all<T = Record<string, SqlValue>>(sql: string, params?: SqlParams): T[];
  get<T = Record<string, SqlValue>>(sql: string, params?: SqlParams): T | undefined;
  transaction<T>(fn: () => T): T;
  /** Schema version after migrations. */
  readonly schemaVersion: number;
  /** Folds the journal into a new snapshot now (also done automatically). */
  checkpoint(): void;
  close(): void;
}

/** What `openDb` returns: a Db that can also tell that other processes wrote to its files. */
export interface StoreDb extends Db {
  /**
   * Takes in what other processes wrote since the last look (as any read does) and returns how
   * many times this Db has taken in such writes so far: a counter to compare with an earlier
   * value, never reset. Its own writes do not count. Cheap when nothing changed (one stat of
   * the journal). Never throws for want of the lock (the state already loaded is kept); may
   * throw what a read throws (`store/damaged`, `store/corrupt`). Always 0 in memory.
   */
  syncFromDisk(): number;
}

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

/**
 * Named moments inside a durable write where a test can kill the process (see
 * `OpenDbOptions.crashPoint`): half a record appended, a record fsynced but the transaction
 * not yet reported, a transaction reported, a snapshot written but not renamed, a snapshot
 * renamed but its journal not yet reset. `before-append` comes with the lock held and the
 * record encoded, just before the ownership check.
 */
export type StoreCrashPoint = 'before-append' | 'mid-append' | 'after-append' | 'after-commit' | 'mid-snapshot' | 'after-snapshot';
