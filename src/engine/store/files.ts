import * as path from 'node:path';
import { HEADER_BYTES, decodeHeader, encodeHeader, headMatches, scanRecords, type CapturedStatement, type RecordMark } from './journal';
import { errnoCode, fsyncDir, readAt, writeFully, type StoreFs } from './fs-port';

/** What a journal stat looked like when we last read it; equal means nothing new. */
export interface JournalIdentity {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

export interface JournalRead {
  generation: number | undefined;
  records: CapturedStatement[][];
  /** Offset just after the last valid record read. */
  validEnd: number;
  /** File size when read; larger than validEnd means a torn (or still-being-written) tail. */
  size: number;
  /** The last valid record read (absolute offset), if any. */
  last?: RecordMark;
  identity: JournalIdentity;
}

/**
 * The two files of a store folder and their crash-safe replacement:
 * - `hyperion.sqlite`: the snapshot, an exported SQLite database, replaced atomically
 *   (temp file → fsync → rename → fsync folder).
 * - `journal`: header + committed transactions since that snapshot, appended and fsynced.
 * Callers hold the cross-process lock for every mutating call here.
 */
export class StoreFiles {
  readonly snapshotPath: string;
  readonly journalPath: string;

  constructor(
    private readonly fs: StoreFs,
    readonly dir: string,
  ) {
    this.snapshotPath = path.join(dir, 'hyperion.sqlite');
    this.journalPath = path.join(dir, 'journal');
  }

  readSnapshot(): Uint8Array | undefined {
    try {
      return this.fs.readFileSync(this.snapshotPath);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return undefined;
      throw e;
    }
  }

  writeSnapshot(bytes: Uint8Array): void {
    this.replaceFile(this.snapshotPath, bytes);
  }

  /** Starts an empty journal for `generation`. */
  resetJournal(generation: number): JournalIdentity {
    this.replaceFile(this.journalPath, encodeHeader(generation));
    return this.statJournal()!;
  }

  statJournal(): JournalIdentity | undefined {
    try {
      return identityOf(this.fs.statSync(this.journalPath));
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** Reads the header and the records from `from` (≥ header) to the end; undefined if absent. */
  readJournal(from: number): JournalRead | undefined {
    let fd: number;
    try {
      fd = this.fs.openSync(this.journalPath, 'r');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return undefined;
      throw e;
    }
    try {
      const st = this.fs.fstatSync(fd);
      const generation = decodeHeader(readAt(this.fs, fd, HEADER_BYTES, 0));
      const start = Math.max(from, HEADER_BYTES);
      if (generation === undefined || st.size <= start) {
        return { generation, records: [], validEnd: start, size: st.size, identity: identityOf(st) };
      }
      const tail = readAt(this.fs, fd, st.size - start, start);
      const scan = scanRecords(tail);
      const read: JournalRead = { generation, records: scan.records, validEnd: start + scan.validBytes, size: st.size, identity: identityOf(st) };
      if (scan.last) read.last = { offset: start + scan.last.offset, crc: scan.last.crc };
      return read;
    } finally {
      this.fs.closeSync(fd);
    }
  }

  /**
   * Appends one framed record at `at` (the end of the valid records) and fsyncs it.
   * On failure the file is cut back to `at`, so a half-written record never survives to be
   * replayed by another process, and the error is rethrown.
   */
  append(record: Uint8Array, at: number): JournalIdentity {
    const fd = this.fs.openSync(this.journalPath, 'r+');
    try {
      try {
        writeFully(this.fs, fd, record, at);
        this.fs.fsyncSync(fd);
      } catch (e) {
        try {
          this.fs.ftruncateSync(fd, at);
          this.fs.fsyncSync(fd);
        } catch {
          // The tail stays torn only if it is also incomplete; a complete record that we
          // could not cut would be replayed, so the caller reloads from disk after this.
        }
        throw e;
      }
      return identityOf(this.fs.fstatSync(fd));
    } finally {
      this.fs.closeSync(fd);
    }
  }

  /**
   * True when the record `mark` still ends exactly at `end` in the journal: our view of the
   * record boundaries agrees with the file, so bytes after `end` are really a torn tail.
   */
  recordStillAt(mark: RecordMark, end: number): boolean {
    const fd = this.fs.openSync(this.journalPath, 'r');
    try {
      return headMatches(readAt(this.fs, fd, 12, mark.offset), mark, end);
    } finally {
      this.fs.closeSync(fd);
    }
  }

  /** Cuts a torn tail left by a crashed writer. */
  truncateJournal(at: number): JournalIdentity {
    const fd = this.fs.openSync(this.journalPath, 'r+');
    try {
      this.fs.ftruncateSync(fd, at);
      this.fs.fsyncSync(fd);
      return identityOf(this.fs.fstatSync(fd));
    } finally {
      this.fs.closeSync(fd);
    }
  }

  /**
   * Removes temp files left by a writer that died mid-checkpoint. Only call holding the
   * lock: every temp file is written under it, so none can belong to a live writer.
   */
  removeLeftoverTemps(): string[] {
    const removed: string[] = [];
    for (const name of this.fs.readdirSync(this.dir)) {
      if (/^(hyperion\.sqlite|journal)\.tmp-\d+$/.test(name)) {
        this.removeQuietly(path.join(this.dir, name));
        removed.push(name);
      }
    }
    return removed;
  }

  private replaceFile(target: string, bytes: Uint8Array): void {
    const tmp = `${target}.tmp-${process.pid}`;
    const fd = this.fs.openSync(tmp, 'w');
    try {
      writeFully(this.fs, fd, bytes, 0);
      this.fs.fsyncSync(fd);
    } catch (e) {
      this.fs.closeSync(fd);
      this.removeQuietly(tmp);
      throw e;
    }
    this.fs.closeSync(fd);
    try {
      this.fs.renameSync(tmp, target);
    } catch (e) {
      this.removeQuietly(tmp);
      throw e;
    }
    fsyncDir(this.fs, this.dir);
  }

  private removeQuietly(file: string): void {
    try {
      this.fs.unlinkSync(file);
    } catch {
      // Best effort: a leftover temp file is harmless and overwritten next time.
    }
  }
}

function identityOf(st: { ino: number; size: number; mtimeMs: number; ctimeMs: number }): JournalIdentity {
  return { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
}

export function sameIdentity(a: JournalIdentity | undefined, b: JournalIdentity | undefined): boolean {
  return !!a && !!b && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}
