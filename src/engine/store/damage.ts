import type { Database } from 'sql.js';
import { EngineError, describeError } from '../errors';
import type { JournalRead, StoreFiles } from './files';
import { HEADER_BYTES, damagedHeaderOf, type CapturedStatement, type DamagedSpan } from './journal';

/**
 * What a journal read under the lock means for the snapshot of generation `gen`:
 * - `apply`: its records belong to the snapshot, with nothing damaged (a torn tail at most);
 * - `damaged`: its records belong to the snapshot but some bytes were changed after they
 *   were written (the header or spans between records); the intact records are recovered;
 * - `unplaceable`: the header is damaged beyond telling which snapshot its records belong to;
 * - `stale`: an older generation's journal (a crash after the snapshot rename), or none;
 * - `newer`: a newer generation than the snapshot, i.e. the snapshot was replaced by hand.
 */
export type JournalVerdict =
  | { kind: 'apply' }
  | { kind: 'damaged'; spans: DamagedSpan[] }
  | { kind: 'unplaceable'; spans: DamagedSpan[] }
  | { kind: 'stale' }
  | { kind: 'newer' };

export function judgeJournal(j: JournalRead | undefined, gen: number): JournalVerdict {
  if (!j) return { kind: 'stale' };
  if (j.generation !== undefined) {
    if (j.generation > gen) return { kind: 'newer' };
    if (j.generation < gen) return { kind: 'stale' };
    return j.damaged.length ? { kind: 'damaged', spans: j.damaged } : { kind: 'apply' };
  }
  // A header that was never written (empty, or zeros from an unfinished allocation) with
  // nothing after it holds nothing to lose: the journal is simply started again.
  if (j.size <= HEADER_BYTES && j.header.every((b) => b === 0)) return { kind: 'stale' };
  const spans = [{ offset: 0, length: Math.min(j.size, HEADER_BYTES) }, ...j.damaged];
  return damagedHeaderOf(j.header, gen) ? { kind: 'damaged', spans } : { kind: 'unplaceable', spans };
}

/**
 * Replays intact records one transaction each, skipping any that no longer apply (one that
 * depended on a damaged record). Returns how many were applied and skipped.
 */
export function replayIntact(db: Database, records: CapturedStatement[][]): { applied: number; skipped: number } {
  let applied = 0;
  let skipped = 0;
  for (const rec of records) {
    db.exec('BEGIN');
    try {
      for (const s of rec) db.run(s.sql, s.params);
      db.exec('COMMIT');
      applied++;
    } catch {
      db.exec('ROLLBACK');
      skipped++;
    }
  }
  return { applied, skipped };
}

export interface JournalDamage {
  copy: string;
  spans: DamagedSpan[];
  applied: number;
  skipped: number;
  /** False when the records could not be matched to the snapshot and were not replayed. */
  placed: boolean;
}

export interface SnapshotDamage {
  file: string;
  copy: string;
}

/** `store/damaged`: one sentence naming what was damaged, what was recovered and where the copies are. */
export function storeDamaged(dir: string, journal: JournalDamage | undefined, snapshot: SnapshotDamage | undefined): EngineError {
  const parts: string[] = [];
  if (snapshot) {
    parts.push(`the Hyperion database file ${snapshot.file} was damaged; Hyperion goes on with what it could read from it, and the damaged file was kept as ${snapshot.copy}`);
  }
  if (journal) {
    const first = journal.spans[0]!;
    const where = first.offset < HEADER_BYTES ? 'in its header' : `at byte ${first.offset}`;
    const kept = `the damaged file was kept as ${journal.copy}`;
    const recovered = !journal.placed
      ? `its records could not be matched to the database, which was left as last saved; ${kept}`
      : `${journal.applied} intact record${journal.applied === 1 ? ' was' : 's were'} recovered${journal.skipped ? ` (${journal.skipped} that depended on the damaged part could not be)` : ''} and ${kept}`;
    parts.push(`the Hyperion journal in ${dir} was damaged ${where}; ${recovered}`);
  }
  return new EngineError('store/damaged', parts.join('; and '), {
    details: {
      dir,
      copy: journal?.copy ?? snapshot?.copy,
      ...(journal ? { spans: journal.spans, recovered: journal.applied, skipped: journal.skipped } : {}),
      ...(snapshot ? { snapshotCopy: snapshot.copy } : {}),
    },
  });
}

/**
 * Under the lock, with the snapshot of `gen` loaded in `db`: undefined when its bytes match
 * the checksum recorded for them (or none is recorded). When they do not, the file is kept
 * aside and, if SQLite still finds it consistent, returned as damage to go on from; one
 * SQLite finds inconsistent is `store/corrupt`, naming the copy.
 */
export function verifySnapshot(files: StoreFiles, db: Database, bytes: Uint8Array, gen: number, writeFailed: WriteFailed): SnapshotDamage | undefined {
  const check = files.checkSnapshot(bytes, gen);
  if (check.verdict !== 'damaged') {
    files.rememberSnapshot(gen, check.sum);
    return undefined;
  }
  const copy = keepSnapshotCopy(files, writeFailed);
  const verdict = integrityOf(db);
  if (verdict !== 'ok') throw beyondRepair(files, copy, `SQLite reports: ${verdict}`);
  return { file: files.snapshotPath, copy };
}

/**
 * The error for a snapshot SQLite cannot read: when its checksum matches none recorded it
 * was damaged, so it is kept aside and the error names the copy; otherwise `e` as is.
 */
export function unreadableSnapshot(files: StoreFiles, bytes: Uint8Array, e: unknown, writeFailed: WriteFailed): unknown {
  if (!files.matchesNoRecordedSum(bytes)) return e;
  try {
    return beyondRepair(files, keepSnapshotCopy(files, writeFailed), describeError(e));
  } catch (e2) {
    return e2;
  }
}

type WriteFailed = (e: unknown, what: string) => EngineError;

function keepSnapshotCopy(files: StoreFiles, writeFailed: WriteFailed): string {
  try {
    return files.keepDamagedCopy('snapshot');
  } catch (e) {
    throw writeFailed(e, 'keep a copy of the damaged database file in');
  }
}

function integrityOf(db: Database): string {
  try {
    return String(db.exec('PRAGMA integrity_check')[0]?.values[0]?.[0]);
  } catch (e) {
    return describeError(e);
  }
}

function beyondRepair(files: StoreFiles, copy: string, why: string): EngineError {
  return new EngineError(
    'store/corrupt',
    `the Hyperion database file ${files.snapshotPath} was damaged beyond repair (${why}); a copy was kept as ${copy}; move the folder ${files.dir} away to start again`,
    { details: { dir: files.dir, copy } },
  );
}
