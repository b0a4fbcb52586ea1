import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { EngineError } from '../errors';
import type { Logger } from '../ports';
import { errnoCode, writeFully, type StoreFs } from './fs-port';

/**
 * A short cross-process lock: a file created with O_EXCL that holds the owner's pid, host,
 * time and a random token. Held only for the duration of one write transaction (or a
 * checkpoint), never across an await.
 *
 * A lock is stale when its process is dead (same host) or it is older than `staleMs`.
 * Stale locks are broken under a second O_EXCL file (`lock.break`) and only after re-reading
 * that the lock still carries the token judged stale, so two breakers can never both delete
 * a fresh lock taken in between.
 */

interface LockOwner {
  pid: number;
  host: string;
  at: number;
  token: string;
}

export interface LockOptions {
  fs: StoreFs;
  dir: string;
  timeoutMs: number;
  staleMs: number;
  log: Logger;
  /** Turns an unexpected fs failure into the store's write-failed error. */
  writeFailed: (e: unknown, what: string) => EngineError;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the thread: transactions are synchronous by contract, so waiting must be too. */
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

export class FileLock {
  private readonly file: string;
  private readonly breakFile: string;
  private heldToken: string | undefined;

  constructor(private readonly o: LockOptions) {
    this.file = path.join(o.dir, 'lock');
    this.breakFile = path.join(o.dir, 'lock.break');
  }

  get held(): boolean {
    return this.heldToken !== undefined;
  }

  /** Takes the lock or throws `store/locked` after `timeoutMs`. */
  acquire(): void {
    if (this.heldToken) throw new Error('FileLock.acquire: already held');
    const deadline = Date.now() + this.o.timeoutMs;
    let delay = 1;
    let lastOwner: LockOwner | undefined;
    for (;;) {
      const token = this.tryCreate();
      if (token) {
        this.heldToken = token;
        return;
      }
      const owner = this.readOwner(this.file);
      if (owner === 'missing') continue;
      if (owner !== 'unreadable') lastOwner = owner;
      if (this.isStale(owner)) {
        this.breakStale(owner);
        continue;
      }
      if (Date.now() >= deadline) throw this.lockedError(lastOwner);
      sleepSync(Math.min(delay, Math.max(1, deadline - Date.now())));
      delay = Math.min(delay * 2, 25);
    }
  }

  /**
   * Throws `store/lock-lost` unless the lock file still holds this process's token: call it
   * before every durable write. A lock file deleted by hand, or broken as stale while we
   * held it, means another process may be writing too; writing on would lose its records.
   */
  verify(stage: 'before' | 'after'): void {
    const token = this.heldToken;
    if (token === undefined) throw new Error('FileLock.verify: not held');
    const now = this.readOwner(this.file);
    if (typeof now === 'object' && now.token === token) return;
    const by = now === 'missing' ? 'its lock file was deleted' : typeof now === 'object' ? `process ${now.pid} took it` : 'another process took it';
    const outcome = stage === 'before' ? 'stopped before writing, so the change was not saved' : 'stopped after writing, so the last change may or may not have been saved';
    throw new EngineError('store/lock-lost', `this Hyperion process lost its write lock on ${this.o.dir} (${by}) and ${outcome}; run the command again`, {
      details: { dir: this.o.dir, stage, owner: typeof now === 'object' ? now : undefined },
    });
  }

  /**
   * `store/locked` after the timeout. The holder is alive (a dead holder on this host is
   * broken as stale), so deleting the lock is suggested only when it is on another host,
   * where this process cannot tell whether it still runs.
   */
  private lockedError(owner: LockOwner | undefined): EngineError {
    const details = { details: { dir: this.o.dir, owner } };
    if (owner && owner.host !== os.hostname()) {
      return new EngineError(
        'store/locked',
        `the Hyperion database is locked by process ${owner.pid} on ${owner.host}, which is writing to ${this.o.dir}; retry in a moment, or delete ${this.file} if no Hyperion is running on ${owner.host}`,
        details,
      );
    }
    const who = owner ? `process ${owner.pid}` : 'another process';
    return new EngineError(
      'store/locked',
      `the Hyperion database is locked by ${who}, a Hyperion (CLI or VS Code) that is still running and writing to ${this.o.dir}; retry when it has finished`,
      details,
    );
  }

  /**
   * Releases the lock if this process still owns it. A lock file that is gone, being
   * created (unreadable), or someone else's is left alone: deleting it would free another
   * writer's lock.
   */
  release(): void {
    const token = this.heldToken;
    this.heldToken = undefined;
    if (!token) return;
    const owner = this.readOwner(this.file);
    if (typeof owner !== 'object' || owner.token !== token) {
      this.o.log.warn('store: our lock was broken or deleted while held', { dir: this.o.dir });
      return;
    }
    try {
      this.o.fs.unlinkSync(this.file);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') this.o.log.warn('store: could not remove the lock file', { file: this.file, error: String(e) });
    }
  }

  private tryCreate(): string | undefined {
    const token = randomBytes(8).toString('hex');
    const owner: LockOwner = { pid: process.pid, host: os.hostname(), at: Date.now(), token };
    return this.createExclusive(this.file, owner) ? token : undefined;
  }

  /** True when created; false when the file exists. Other failures are write failures. */
  private createExclusive(file: string, owner: LockOwner): boolean {
    let fd: number;
    try {
      fd = this.o.fs.openSync(file, 'wx');
    } catch (e) {
      if (errnoCode(e) === 'EEXIST') return false;
      throw this.o.writeFailed(e, 'take the write lock in');
    }
    try {
      writeFully(this.o.fs, fd, Buffer.from(JSON.stringify(owner)), 0);
    } catch (e) {
      try {
        this.o.fs.closeSync(fd);
        this.o.fs.unlinkSync(file);
      } catch {
        // The empty lock file is judged stale by age.
      }
      throw this.o.writeFailed(e, 'take the write lock in');
    }
    this.o.fs.closeSync(fd);
    return true;
  }

  private readOwner(file: string): LockOwner | 'missing' | 'unreadable' {
    let text: string;
    try {
      text = this.o.fs.readFileSync(file).toString('utf8');
    } catch (e) {
      return errnoCode(e) === 'ENOENT' ? 'missing' : 'unreadable';
    }
    try {
      const o = JSON.parse(text) as LockOwner;
      if (typeof o.pid === 'number' && typeof o.token === 'string') return o;
    } catch {
      // A lock file whose writer died between create and write: judged by its age.
    }
    return 'unreadable';
  }

  private isStale(owner: LockOwner | 'unreadable'): boolean {
    if (owner === 'unreadable') {
      try {
        return Date.now() - this.o.fs.statSync(this.file).mtimeMs > Math.min(this.o.staleMs, 5000);
      } catch {
        return false;
      }
    }
    if (Date.now() - owner.at > this.o.staleMs) return true;
    if (owner.host !== os.hostname()) return false;
    if (owner.pid === process.pid) return false;
    return !pidAlive(owner.pid);
  }

  private breakStale(judged: LockOwner | 'unreadable'): void {
    const me: LockOwner = { pid: process.pid, host: os.hostname(), at: Date.now(), token: 'break' };
    if (!this.createExclusive(this.breakFile, me)) {
      // Another process is breaking it; a breaker that died leaves lock.break behind.
      try {
        if (Date.now() - this.o.fs.statSync(this.breakFile).mtimeMs > 10_000) this.o.fs.unlinkSync(this.breakFile);
      } catch {
        // Gone already.
      }
      sleepSync(2);
      return;
    }
    try {
      const now = this.readOwner(this.file);
      const same = judged === 'unreadable' ? now === 'unreadable' : typeof now === 'object' && now.token === judged.token;
      if (same) {
        this.o.log.warn('store: breaking a stale lock', { file: this.file, owner: judged === 'unreadable' ? undefined : judged });
        this.o.fs.unlinkSync(this.file);
      }
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw this.o.writeFailed(e, 'break a stale lock in');
    } finally {
      try {
        this.o.fs.unlinkSync(this.breakFile);
      } catch {
        // Nothing to clean.
      }
    }
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === 'EPERM';
  }
}
