import * as path from 'node:path';
import { HEADER_BYTES, crc32, decodeHeader, encodeHeader, headMatches, scanRecords, type CapturedStatement, type DamagedSpan, type RecordMark } from './journal';
import { errnoCode, fsyncDir, readAt, writeFully, type StoreFs } from './fs-port';
import type { StoreCrashPoint } from './types';

/** What a journal stat looked like when we last read it; equal means nothing new. */
export interface JournalIdentity {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

export interface JournalRead {
  /** The header's generation; undefined when the header is missing or damaged. */
  generation: number | undefined;
  /** The raw header bytes (fewer than 16 when the file is shorter). */
  header: Buffer;
  records: CapturedStatement[][];
  /** Offset just after the last valid record read. */
  validEnd: number;
  /** File size when read; larger than validEnd means a torn (or still-being-written) tail. */
  size: number;
  /** The last valid record read (absolute offset), if any. */
  last?: RecordMark;
  /** Spans (absolute offsets) that are damaged rather than torn; see `scanRecords`. */
  damaged: DamagedSpan[];
  identity: JournalIdentity;
}

/** What a snapshot's bytes say about it against its recorded checksum. */
export type SnapshotCheck = 'ok' | 'unrecorded' | 'damaged';

/**
 * The files of a store folder and their crash-safe replacement:
 * - `hyperion.sqlite`: the snapshot, an exported SQLite database, replaced atomically
 *   (temp file → fsync → rename → fsync folder).
 * - `hyperion.sqlite.sum`: the checksum of the snapshot of each of the last two generations,
 *   written before the snapshot it describes, so a changed byte in the snapshot is noticed.
 *   Stores written by an older Hyperion have none; their snapshots are not checked.
 * - `journal`: header + committed transactions since that snapshot, appended and fsynced.
 * Callers hold the cross-process lock for every mutating call here.
 */
/**
 * Called by every mutating method before it touches a file: the store checks there that it
 * still holds the lock. `crash` marks crash points for tests.
 */
export interface StoreFileHooks {
  beforeWrite(): void;
  crash?: (name: StoreCrashPoint) => void;
}

export class StoreFiles {
  readonly snapshotPath: string;
  readonly journalPath: string;
  private readonly sumPath: string;
  /** The checksum of the snapshot this process last read or wrote, by generation. */
  private known: { generation: number; sum: string } | undefined;

  constructor(
    private readonly fs: StoreFs,
    readonly dir: string,
    private readonly hooks: StoreFileHooks = { beforeWrite: () => {} },
  ) {
    this.snapshotPath = path.join(dir, 'hyperion.sqlite');
    this.journalPath = path.join(dir, 'journal');
    this.sumPath = path.join(dir, 'hyperion.sqlite.sum');
  }

  readSnapshot(): Uint8Array | undefined {
    try {
      return this.fs.readFileSync(this.snapshotPath);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** Replaces the snapshot with `bytes`, the database at `generation`, recording its checksum first. */
  writeSnapshot(bytes: Uint8Array, generation: number): void {
    this.hooks.beforeWrite();
    const sum = sumOf(bytes);
    const sums: Record<string, string> = { [generation]: sum };
    if (this.known && this.known.generation !== generation) sums[this.known.generation] = this.known.sum;
    this.replaceFile(this.sumPath, Buffer.from(JSON.stringify(sums)));
    this.replaceFile(this.snapshotPath, bytes, 'mid-snapshot');
    this.known = { generation, sum };
    this.hooks.crash?.('after-snapshot');
  }

  /**
   * Checks the bytes of the snapshot of `generation` against the checksum recorded for that
   * generation. `unrecorded` when there is none: a store from an older Hyperion, a snapshot
   * written by an older Hyperion sharing the folder (it does not update the sums), or a sum
   * file that was itself damaged. The next snapshot records one.
   */
  checkSnapshot(bytes: Uint8Array, generation: number): { verdict: SnapshotCheck; sum: string } {
    const sum = sumOf(bytes);
    let recorded: unknown;
    try {
      recorded = (JSON.parse(this.fs.readFileSync(this.sumPath).toString('utf8')) as Record<string, unknown>)[generation];
    } catch {
      // Missing or unreadable: nothing to check against.
    }
    return { verdict: typeof recorded !== 'string' ? 'unrecorded' : recorded === sum ? 'ok' : 'damaged', sum };
  }

  /** True when checksums are recorded and `bytes` matches none of them: damage, not a foreign file. */
  matchesNoRecordedSum(bytes: Uint8Array): boolean {
    let recorded: unknown[];
    try {
      recorded = Object.values(JSON.parse(this.fs.readFileSync(this.sumPath).toString('utf8')) as Record<string, unknown>);
    } catch {
      return false;
    }
    return recorded.length > 0 && !recorded.includes(sumOf(bytes));
  }

  /** Notes the sum of the snapshot of `generation` now in use, to carry into the next sum file. */
  rememberSnapshot(generation: number, sum: string): void {
    this.known = { generation, sum };
  }

  /** Starts an empty journal for `generation`. */
  resetJournal(generation: number): JournalIdentity {
    this.hooks.beforeWrite();
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
      const header = readAt(this.fs, fd, HEADER_BYTES, 0);
      const generation = decodeHeader(header);
      const start = Math.max(from, HEADER_BYTES);
      // Records are read even under a damaged header: the caller decides whether they belong.
      if (st.size <= start) {
        return { generation, header, records: [], validEnd: start, size: st.size, damaged: [], identity: identityOf(st) };
      }
      const tail = readAt(this.fs, fd, st.size - start, start);
      const scan = scanRecords(tail);
      const damaged = scan.damaged.map((d) => ({ offset: start + d.offset, length: d.length }));
      const read: JournalRead = { generation, header, records: scan.records, validEnd: start + scan.validBytes, size: st.size, damaged, identity: identityOf(st) };
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
    this.hooks.beforeWrite();
    const fd = this.fs.openSync(this.journalPath, 'r+');
    try {
      try {
        const crash = this.hooks.crash;
        if (crash) {
          // Two writes with a crash point between them: a torn record, for crash tests.
          const half = record.length >> 1;
          writeFully(this.fs, fd, record.subarray(0, half), at);
          crash('mid-append');
          writeFully(this.fs, fd, record.subarray(half), at + half);
        } else {
          writeFully(this.fs, fd, record, at);
        }
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
    this.hooks.beforeWrite();
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
   * Copies the journal (or the snapshot) as it is now to `<name>.damaged-<n>` (the first
   * free n), durably, and returns the copy's path. Never overwrites an earlier copy.
   */
  keepDamagedCopy(which: 'journal' | 'snapshot' = 'journal'): string {
    this.hooks.beforeWrite();
    const file = which === 'journal' ? this.journalPath : this.snapshotPath;
    const bytes = this.fs.readFileSync(file);
    for (let n = 1; ; n++) {
      const copy = `${file}.damaged-${n}`;
      let fd: number;
      try {
        fd = this.fs.openSync(copy, 'wx');
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST') throw e;
        // The same damage seen again (a file that cannot be repaired) is kept once.
        if (Buffer.from(bytes).equals(this.fs.readFileSync(copy))) return copy;
        continue;
      }
      try {
        writeFully(this.fs, fd, bytes, 0);
        this.fs.fsyncSync(fd);
      } catch (e) {
        this.fs.closeSync(fd);
        this.removeQuietly(copy);
        throw e;
      }
      this.fs.closeSync(fd);
      fsyncDir(this.fs, this.dir);
      return copy;
    }
  }

  /**
   * Removes temp files left by a writer that died mid-checkpoint. Only call holding the
   * lock: every temp file is written under it, so none can belong to a live writer.
   */
  removeLeftoverTemps(): string[] {
    const removed: string[] = [];
    for (const name of this.fs.readdirSync(this.dir)) {
      if (/^(hyperion\.sqlite|hyperion\.sqlite\.sum|journal)\.tmp-\d+$/.test(name)) {
        this.hooks.beforeWrite();
        this.removeQuietly(path.join(this.dir, name));
        removed.push(name);
      }
    }
    return removed;
  }

  private replaceFile(target: string, bytes: Uint8Array, crashPoint?: StoreCrashPoint): void {
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
    if (crashPoint) this.hooks.crash?.(crashPoint);
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

function sumOf(bytes: Uint8Array): string {
  return `${crc32(bytes).toString(16).padStart(8, '0')}:${bytes.length}`;
}

function identityOf(st: { ino: number; size: number; mtimeMs: number; ctimeMs: number }): JournalIdentity {
  return { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
}

export function sameIdentity(a: JournalIdentity | undefined, b: JournalIdentity | undefined): boolean {
  return !!a && !!b && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}
