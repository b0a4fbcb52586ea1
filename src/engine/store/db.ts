import type { Database, SqlJsStatic } from 'sql.js';
import { EngineError, describeError, isEngineError } from '../errors';
import { silentLogger, type Logger } from '../ports';
import { assertDeterministic } from './determinism';
import { StoreFiles, sameIdentity, type JournalIdentity } from './files';
import { nodeStoreFs, type StoreFs } from './fs-port';
import { META_TABLE, StatementCache, normalizeParams, readGeneration, userVersion } from './statements';
import { storeWriteFailed } from './write-failed';
import { HEADER_BYTES, encodeRecord, markOf, type CapturedStatement, type RecordMark } from './journal';
import { FileLock } from './lock';
import { MIGRATIONS } from './migrations';
import { loadSqlJs } from './sqljs';
import type { Migration, SqlParams, SqlValue, StoreCrashPoint, StoreDb } from './types';
import { applyMigrations, checkMigrationList } from './migrate';
import { judgeJournal, replayIntact, storeDamaged, unreadableSnapshot, verifySnapshot, type JournalDamage } from './damage';

export interface OpenDbOptions {
  /** The state folder (see `stateDirFor`), created if missing; null keeps everything in memory. */
  dir: string | null;
  /** How long a write waits for another process's lock before `store/locked`. Default 5000. */
  lockTimeoutMs?: number;
  /** Fold the journal into a new snapshot once it is this large. Default 4 MiB. */
  snapshotEveryBytes?: number;
  /** A lock older than this is broken even if its process seems alive. Default 60000. */
  staleLockMs?: number;
  wasmPath?: string;
  log?: Logger;
  /** Schema migrations; default MIGRATIONS. */
  migrations?: Migration[];
  /** File-system port for fault-injection tests; default node:fs. */
  fs?: StoreFs;
  /** Called at each named crash point of a durable write; tests kill the process there. */
  crashPoint?: (name: StoreCrashPoint) => void;
}

/**
 * Opens (creating if needed) the durable store in `opts.dir` and applies migrations.
 *
 * Throws EngineError `store/locked` (another process holds the lock past the timeout),
 * `store/write-failed` (the folder cannot be written), `store/too-new` (the database was
 * written by a newer Hyperion), `store/damaged` (damaged files were kept aside and what was
 * intact recovered; opening again goes on from there), `store/corrupt`,
 * `store/lock-lost` or `store/migration-failed`.
 * The caller owns the returned Db and must `close()` it (closing folds the journal).
 */
export async function openDb(opts: OpenDbOptions): Promise<StoreDb> {
  const SQL = await loadSqlJs(opts.wasmPath);
  const migrations = opts.migrations ?? MIGRATIONS;
  checkMigrationList(migrations);
  const log = opts.log ?? silentLogger;
  if (opts.dir === null) {
    const db = new SQL.Database();
    applyMigrations(db, migrations);
    return new SqlJsDb(SQL, db, undefined, log);
  }
  const fs = opts.fs ?? nodeStoreFs;
  const dir = opts.dir;
  const writeFailed = (e: unknown, what: string) => storeWriteFailed(dir, e, what);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw writeFailed(e, 'create');
  }
  // Every file write first checks that the lock is still ours; once it was lost, this
  // process writes nothing more (its view may already miss another writer's records).
  const beforeWrite = () => {
    try {
      durable.lock.verify('before');
    } catch (e) {
      if (isEngineError(e, 'store/lock-lost')) durable.lockLost ??= e;
      throw e;
    }
  };
  const durable: Durable = {
    files: new StoreFiles(fs, dir, { beforeWrite, ...(opts.crashPoint ? { crash: opts.crashPoint } : {}) }),
    lock: new FileLock({ fs, dir, timeoutMs: opts.lockTimeoutMs ?? 5000, staleMs: opts.staleLockMs ?? 60_000, log, writeFailed }),
    snapshotEveryBytes: opts.snapshotEveryBytes ?? 4 * 1024 * 1024,
    writeFailed,
    lockLost: undefined,
    crash: opts.crashPoint ?? (() => {}),
  };
  const store = new SqlJsDb(SQL, undefined, durable, log);
  store.openDurable(migrations);
  return store;
}

interface Durable {
  files: StoreFiles;
  lock: FileLock;
  snapshotEveryBytes: number;
  writeFailed: (e: unknown, what: string) => EngineError;
  /** The first `store/lock-lost`; from then on every write is refused. */
  lockLost: EngineError | undefined;
  crash: (name: StoreCrashPoint) => void;
}

class SqlJsDb implements StoreDb {
  private db!: Database;
  /** How many times records or a snapshot written by another process were taken in. */
  private foreignWrites = 0;
  private generation = 0;
  /** End of the journal records already applied to `db`. */
  private journalEnd = HEADER_BYTES;
  private seen: JournalIdentity | undefined;
  /** The last record applied, to check record boundaries before cutting a tail. */
  private lastRecord: RecordMark | undefined;
  private depth = 0;
  private captured: CapturedStatement[] = [];
  private readonly cache = new StatementCache(() => this.db);
  private closed = false;
  schemaVersion = 0;

  constructor(
    private readonly SQL: SqlJsStatic,
    db: Database | undefined,
    private readonly durable: Durable | undefined,
    private readonly log: Logger,
  ) {
    if (db) {
      this.db = db;
      this.schemaVersion = userVersion(db);
    }
  }

  /** Loads or creates the files under the lock, then migrates and folds the result. */
  openDurable(migrations: Migration[]): void {
    const d = this.durable!;
    d.lock.acquire();
    try {
      const leftovers = d.files.removeLeftoverTemps();
      if (leftovers.length) this.log.info('store: removed temp files of an interrupted checkpoint', { dir: d.files.dir, files: leftovers });
      if (d.files.readSnapshot() === undefined) this.createFresh();
      else this.reload();
      const before = userVersion(this.db);
      const latest = Math.max(0, ...migrations.map((m) => m.version));
      if (before > latest) {
        throw new EngineError('store/too-new', `the Hyperion database in ${d.files.dir} has schema version ${before}, newer than this Hyperion understands (${latest}); update Hyperion`);
      }
      if (before < latest) {
        applyMigrations(this.db, migrations);
        try {
          this.checkpointLocked();
        } catch (e) {
          this.reload();
          throw e;
        }
        this.log.info('store: migrated', { dir: d.files.dir, from: before, to: latest });
      }
      this.schemaVersion = userVersion(this.db);
    } catch (e) {
      this.db?.close();
      this.closed = true;
      throw e;
    } finally {
      d.lock.release();
    }
  }

  run(sql: string, params?: SqlParams): { changes: number; lastInsertRowid: number } {
    this.assertOpen();
    if (this.depth === 0) return this.transaction(() => this.run(sql, params));
    assertDeterministic(sql);
    const p = normalizeParams(params);
    this.db.run(sql, p);
    this.captured.push(p === undefined ? { sql } : { sql, params: p });
    const changes = this.db.getRowsModified();
    const lastInsertRowid = Number(this.cache.rows('SELECT last_insert_rowid() AS id', undefined, true)[0]?.id ?? 0);
    return { changes, lastInsertRowid };
  }

  all<T = Record<string, SqlValue>>(sql: string, params?: SqlParams): T[] {
    this.assertOpen();
    if (this.depth === 0) this.catchUp(false);
    return this.cache.rows(sql, params, false) as T[];
  }

  get<T = Record<string, SqlValue>>(sql: string, params?: SqlParams): T | undefined {
    this.assertOpen();
    if (this.depth === 0) this.catchUp(false);
    return this.cache.rows(sql, params, true)[0] as T | undefined;
  }

  syncFromDisk(): number {
    this.assertOpen();
    if (this.depth === 0) this.catchUp(false);
    return this.foreignWrites;
  }

  transaction<T>(fn: () => T): T {
    this.assertOpen();
    if (this.depth > 0) return this.nested(fn);
    const d = this.durable;
    if (d) {
      this.refuseAfterLockLost(d);
      d.lock.acquire();
    }
    try {
      if (d) this.catchUp(true);
      this.db.exec('BEGIN');
      this.captured = [];
      this.depth = 1;
      let result: T;
      try {
        result = fn();
        if (isThenable(result)) {
          throw new EngineError('store/async-transaction', 'a store transaction function must be synchronous; it returned a promise, so its writes were rolled back');
        }
      } catch (e) {
        this.db.exec('ROLLBACK');
        throw e;
      } finally {
        this.depth = 0;
      }
      const captured = this.captured;
      this.captured = [];
      if (d && captured.length > 0) this.appendOrRollback(d, captured);
      this.db.exec('COMMIT');
      d?.crash('after-commit');
      if (d && this.journalEnd > d.snapshotEveryBytes) this.autoCheckpoint();
      return result;
    } finally {
      if (d) d.lock.release();
    }
  }

  checkpoint(): void {
    this.assertOpen();
    if (this.depth > 0) throw new EngineError('store/in-transaction', 'checkpoint() cannot run inside a transaction');
    const d = this.durable;
    if (!d) return;
    this.refuseAfterLockLost(d);
    d.lock.acquire();
    try {
      this.catchUp(true);
      if (this.journalEnd > HEADER_BYTES) this.checkpointLocked();
    } finally {
      d.lock.release();
    }
  }

  close(): void {
    if (this.closed) return;
    if (this.depth > 0) throw new EngineError('store/in-transaction', 'close() cannot run inside a transaction');
    try {
      if (this.durable) this.checkpoint();
    } catch (e) {
      // Everything committed is already in the journal; folding can wait for the next open.
      this.log.warn('store: could not fold the journal on close', { error: String(e) });
    }
    this.cache.clear();
    this.db.close();
    this.closed = true;
  }

  private nested<T>(fn: () => T): T {
    const name = `hyperion_sp${this.depth}`;
    const mark = this.captured.length;
    this.db.exec(`SAVEPOINT ${name}`);
    this.depth++;
    try {
      const result = fn();
      this.db.exec(`RELEASE ${name}`);
      return result;
    } catch (e) {
      // The inner call is undone alone; the outer transaction decides about the rest.
      this.db.exec(`ROLLBACK TO ${name}`);
      this.db.exec(`RELEASE ${name}`);
      this.captured.length = mark;
      throw e;
    } finally {
      this.depth--;
    }
  }

  private appendOrRollback(d: Durable, captured: CapturedStatement[]): void {
    const record = encodeRecord(captured);
    d.crash('before-append');
    let seen: JournalIdentity;
    try {
      seen = d.files.append(record, this.journalEnd);
    } catch (e) {
      this.db.exec('ROLLBACK');
      // The append cut its own tail; forget what we saw so the next access re-reads the file.
      this.seen = undefined;
      throw d.writeFailed(e, 'save to');
    }
    try {
      // Had another process taken the lock while we wrote, it may write over our record:
      // say so rather than report the transaction saved. If the record survives, the next
      // read replays it from the file, since journalEnd was not advanced.
      d.lock.verify('after');
    } catch (e) {
      this.db.exec('ROLLBACK');
      this.seen = undefined;
      if (isEngineError(e, 'store/lock-lost')) d.lockLost ??= e;
      throw e;
    }
    d.crash('after-append');
    this.seen = seen;
    this.lastRecord = markOf(record, this.journalEnd);
    this.journalEnd += record.length;
  }

  private refuseAfterLockLost(d: Durable): void {
    if (!d.lockLost) return;
    throw new EngineError('store/lock-lost', `this Hyperion process stopped writing to ${d.files.dir} after it lost its write lock; run the command again`, {
      cause: d.lockLost,
      details: { dir: d.files.dir },
    });
  }

  private autoCheckpoint(): void {
    try {
      this.checkpointLocked();
    } catch (e) {
      // The transaction is durable in the journal; folding is retried after the next write.
      this.log.warn('store: could not fold the journal into a snapshot', { error: String(e) });
    }
  }

  /**
   * Under the lock, caught up, outside a transaction: writes a snapshot with the next
   * generation, then starts an empty journal for it. A crash between the two leaves a
   * journal whose generation is older than the snapshot's, which readers ignore (those
   * records are already in the snapshot) and the next writer resets.
   */
  private checkpointLocked(): void {
    const d = this.durable!;
    const next = this.generation + 1;
    this.db.run(`UPDATE ${META_TABLE} SET generation = ?`, [next]);
    this.cache.clear(); // export() closes and reopens the sql.js connection
    const bytes = this.db.export();
    try {
      d.files.writeSnapshot(bytes, next);
    } catch (e) {
      this.db.run(`UPDATE ${META_TABLE} SET generation = ?`, [this.generation]);
      throw d.writeFailed(e, 'write a snapshot in');
    }
    this.generation = next;
    this.seen = undefined; // the journal on disk now belongs to an older generation
    try {
      this.seen = d.files.resetJournal(next);
      this.journalEnd = HEADER_BYTES;
      this.lastRecord = undefined;
    } catch (e) {
      throw d.writeFailed(e, 'reset the journal in');
    }
  }

  /**
   * Brings `db` up to what is on disk: applies records other processes appended, or reloads
   * the snapshot when the generation changed. Reads call it without the lock and fall back
   * to taking it for a reload; writers call it holding the lock.
   */
  private catchUp(locked: boolean): void {
    const d = this.durable;
    if (!d) return;
    const now = d.files.statJournal();
    if (now && sameIdentity(now, this.seen)) return;
    const j = now ? d.files.readJournal(this.journalEnd) : undefined;
    if (j && j.generation === this.generation && j.size >= this.journalEnd && j.damaged.length === 0) {
      this.applyRecords(this.db, j.records);
      // Our own appends advance journalEnd, so whatever is found past it was written elsewhere.
      if (j.records.length > 0) this.foreignWrites++;
      this.journalEnd = j.validEnd;
      if (j.last) this.lastRecord = j.last;
      this.seen = j.identity;
      if (j.size === j.validEnd) return;
      // Bytes after the last valid record: a write in progress elsewhere, a writer that died
      // mid-append, or (if our view of record boundaries drifted) other processes' records.
      // Only a lock holder decides, after checking that our last record still ends here.
      if (!locked) return this.catchUpLocked();
      const ours = this.lastRecord;
      const boundaryHolds = ours === undefined ? this.journalEnd === HEADER_BYTES : d.files.recordStillAt(ours, this.journalEnd);
      if (boundaryHolds) {
        this.log.warn('store: cutting a torn journal tail left by an interrupted write', { dir: d.files.dir, bytes: j.size - j.validEnd });
        this.seen = d.files.truncateJournal(j.validEnd);
      } else {
        this.log.warn('store: the journal no longer matches what this process read; reloading', { dir: d.files.dir });
        this.reloadForeign();
      }
      return;
    }
    if (!locked) return this.catchUpLocked();
    this.reloadForeign();
  }

  /** A reload because another process changed the files (a new generation, a rewritten journal). */
  private reloadForeign(): void {
    this.reload();
    this.foreignWrites++;
  }

  /**
   * A read that needs the lock to catch up. If the lock cannot be had (busy past the
   * timeout, or a read-only folder) the read is served from the state already loaded,
   * which is a consistent earlier state; reads never fail for want of the lock.
   */
  private catchUpLocked(): void {
    const d = this.durable!;
    this.seen = undefined;
    try {
      d.lock.acquire();
    } catch (e) {
      if (!isEngineError(e, 'store/locked') && !isEngineError(e, 'store/write-failed')) throw e;
      this.log.warn('store: serving a read from the last loaded state', { reason: describeError(e) });
      return;
    }
    try {
      this.catchUp(true);
    } finally {
      d.lock.release();
    }
  }

  /** Under the lock: replaces `db` with the snapshot plus its journal, repairing the journal. */
  private reload(): void {
    const d = this.durable!;
    const snapshot = d.files.readSnapshot();
    if (!snapshot) throw new EngineError('store/corrupt', `the Hyperion database file ${d.files.snapshotPath} is missing`);
    let next: Database;
    try {
      next = new this.SQL.Database(snapshot);
    } catch (e) {
      throw unreadableSnapshot(d.files, snapshot, new EngineError('store/corrupt', `the Hyperion database file ${d.files.snapshotPath} cannot be read`, { cause: e }), d.writeFailed);
    }
    let damage: EngineError | undefined;
    try {
      let gen: number;
      try {
        gen = readGeneration(next, d.files.snapshotPath);
      } catch (e) {
        throw unreadableSnapshot(d.files, snapshot, e, d.writeFailed);
      }
      const snapshotDamage = verifySnapshot(d.files, next, snapshot, gen, d.writeFailed);
      let journalDamage: JournalDamage | undefined;
      const j = d.files.readJournal(HEADER_BYTES);
      const verdict = judgeJournal(j, gen);
      let end = HEADER_BYTES;
      let seen: JournalIdentity | undefined;
      let last: RecordMark | undefined;
      if (verdict.kind === 'apply' && j) {
        this.applyRecords(next, j.records);
        end = j.validEnd;
        last = j.last;
        seen = j.identity;
        if (j.size > j.validEnd) {
          this.log.warn('store: cutting a torn journal tail left by an interrupted write', { dir: d.files.dir, bytes: j.size - j.validEnd });
          seen = d.files.truncateJournal(j.validEnd);
        }
      } else if ((verdict.kind === 'damaged' || verdict.kind === 'unplaceable') && j) {
        // Never cut a damaged journal: keep it aside first, recover what is intact, then
        // fold the result into a new snapshot (below) so the damaged file is not read again.
        let copy: string;
        try {
          copy = d.files.keepDamagedCopy();
        } catch (e) {
          throw d.writeFailed(e, 'keep a copy of the damaged journal in');
        }
        const placed = verdict.kind === 'damaged';
        const { applied, skipped } = placed ? replayIntact(next, j.records) : { applied: 0, skipped: 0 };
        journalDamage = { copy, spans: verdict.spans, applied, skipped, placed };
      } else if (verdict.kind === 'newer') {
        throw new EngineError('store/corrupt', `the Hyperion journal in ${d.files.dir} is newer than its database file; the database file was replaced by hand`);
      } else {
        // No journal, an older generation's (a crash after the snapshot rename: its records
        // are already in the snapshot), or a header that was never written.
        try {
          seen = d.files.resetJournal(gen);
        } catch (e) {
          throw d.writeFailed(e, 'reset the journal in');
        }
      }
      if (journalDamage || snapshotDamage) {
        damage = storeDamaged(d.files.dir, journalDamage, snapshotDamage);
        this.log.warn('store: damaged files were kept aside; recovered what was intact', { ...damage.details });
      }
      this.cache.clear();
      this.db?.close();
      this.db = next;
      this.generation = gen;
      this.journalEnd = end;
      this.lastRecord = last;
      this.seen = seen;
      this.schemaVersion = userVersion(next);
    } catch (e) {
      if (this.db !== next) next.close();
      throw e;
    }
    if (damage) {
      try {
        this.checkpointLocked();
      } catch (e) {
        // The damaged journal stays; the next open recovers it again, with another copy.
        this.log.warn('store: could not save the state recovered from a damaged journal', { error: describeError(e) });
      }
      throw damage;
    }
  }

  /**
   * Under the lock, with the snapshot of `gen` loaded in `db`: undefined when its bytes match
   * the checksum recorded for them (or none is recorded). When they do not, the file is kept
   * aside and, if SQLite still finds it consistent, returned as damage to go on from; one
   * SQLite finds inconsistent is `store/corrupt`, naming the copy.
   */
  private createFresh(): void {
    const d = this.durable!;
    const j = d.files.readJournal(HEADER_BYTES);
    if (j && j.records.length > 0) {
      throw new EngineError('store/corrupt', `the Hyperion database file ${d.files.snapshotPath} is missing but its journal has data; restore the file or delete the folder`);
    }
    this.db?.close();
    this.db = new this.SQL.Database();
    this.db.run(`CREATE TABLE ${META_TABLE} (generation INTEGER NOT NULL)`);
    this.db.run(`INSERT INTO ${META_TABLE} (generation) VALUES (0)`);
    this.generation = 0;
    this.checkpointLocked();
  }

  private applyRecords(db: Database, records: CapturedStatement[][]): void {
    for (const rec of records) {
      db.exec('BEGIN');
      try {
        for (const s of rec) db.run(s.sql, s.params);
        db.exec('COMMIT');
      } catch (e) {
        db.exec('ROLLBACK');
        throw new EngineError('store/replay-failed', `a journaled write could not be replayed in ${this.durable?.files.dir}: ${(e as Error).message}`, { cause: e });
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new EngineError('store/closed', 'the Hyperion database is closed');
  }
}

function isThenable(x: unknown): boolean {
  return typeof (x as { then?: unknown } | null)?.then === 'function';
}

