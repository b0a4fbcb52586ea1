import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { openDb } from '../../src/engine/store/db';
import { isEngineError } from '../../src/engine/errors';
import type { Db } from '../../src/engine/store/types';
import { TEST_MIGRATIONS, removeDir, tempDir } from '../support/store-fixtures';
import { faultyFs } from '../support/store-faulty-fs';

const count = (db: Db) => db.get<{ n: number }>('SELECT count(*) AS n FROM items')!.n;
const insert = (db: Db, txn: number, body = 'x') => db.run('INSERT INTO items (txn, part, body) VALUES (?, 1, ?)', [txn, body]);
const writeFailed = (dir: string, reason: RegExp) => (e: unknown) =>
  isEngineError(e, 'store/write-failed') && e.message.includes(dir) && reason.test(e.message);

async function fresh(dir: string): Promise<Db> {
  return openDb({ dir, migrations: TEST_MIGRATIONS });
}

test('disk full in the middle of an append: write-failed, rolled back, files still valid', async () => {
  const dir = tempDir();
  try {
    const f = faultyFs();
    const db = await openDb({ dir, migrations: TEST_MIGRATIONS, fs: f.fs, snapshotEveryBytes: 1 << 30 });
    insert(db, 1);
    const journalSize = fs.statSync(path.join(dir, 'journal')).size;
    f.set({ code: 'ENOSPC', files: /^journal$/, ops: ['write'], partial: true });
    assert.throws(() => db.transaction(() => { insert(db, 2); insert(db, 3); }), writeFailed(dir, /disk is full/));
    assert.ok(f.failures() > 0);
    assert.equal(count(db), 1, 'the in-memory database matches the disk again');
    assert.equal(fs.statSync(path.join(dir, 'journal')).size, journalSize, 'the half-written record was cut');
    const other = await fresh(dir);
    assert.equal(count(other), 1);
    other.close();

    f.set(undefined);
    insert(db, 4);
    const after = await fresh(dir);
    assert.deepEqual(after.all('SELECT txn FROM items ORDER BY id').map((r) => r.txn), [1, 4]);
    after.close();
    db.close();
  } finally {
    removeDir(dir);
  }
});

test('read-only state folder: write-failed naming the folder, reads still work, data kept', async () => {
  const dir = tempDir();
  try {
    const f = faultyFs();
    const db = await openDb({ dir, migrations: TEST_MIGRATIONS, fs: f.fs });
    insert(db, 1);
    f.set({ code: 'EROFS', ops: ['open-write', 'write', 'rename', 'truncate'] });
    assert.throws(() => insert(db, 2), writeFailed(dir, /read-only/));
    assert.equal(count(db), 1);
    f.set({ code: 'EACCES', ops: ['open-write', 'write', 'rename', 'truncate'] });
    assert.throws(() => insert(db, 2), writeFailed(dir, /permission/));
    f.set(undefined);
    db.close();
    const again = await fresh(dir);
    assert.equal(count(again), 1);
    again.close();
  } finally {
    removeDir(dir);
  }
});

test('a failed snapshot does not fail the committed transaction; checkpoint() reports it', async () => {
  const dir = tempDir();
  try {
    const f = faultyFs();
    const warnings: string[] = [];
    const log = { trace() {}, debug() {}, info() {}, error() {}, warn: (m: string) => warnings.push(m) };
    const db = await openDb({ dir, migrations: TEST_MIGRATIONS, fs: f.fs, log, snapshotEveryBytes: 200 });
    f.set({ code: 'ENOSPC', files: /^hyperion\.sqlite\.tmp-/, ops: ['write'] });
    insert(db, 1, 'y'.repeat(300)); // passes snapshotEveryBytes: the automatic fold fails
    assert.ok(warnings.some((w) => /fold/.test(w)));
    assert.throws(() => db.checkpoint(), writeFailed(dir, /disk is full/));
    assert.deepEqual(fs.readdirSync(dir).filter((n) => n.includes('.tmp-')), [], 'no temp file is left behind');
    const other = await fresh(dir);
    assert.equal(count(other), 1);
    other.close();
    f.set(undefined);
    db.checkpoint();
    assert.equal(fs.statSync(path.join(dir, 'journal')).size, 16);
    db.close();
  } finally {
    removeDir(dir);
  }
});

test('a crash between the snapshot rename and the journal reset never replays twice', async () => {
  const dir = tempDir();
  try {
    const f = faultyFs();
    const db = await openDb({ dir, migrations: TEST_MIGRATIONS, fs: f.fs, snapshotEveryBytes: 1 << 30 });
    for (let i = 0; i < 5; i++) db.run("UPDATE counter SET v = v + 1 WHERE name = 'shared'");
    f.set({ code: 'EIO', files: /^journal$/, ops: ['rename'] });
    assert.throws(() => db.checkpoint(), (e) => isEngineError(e, 'store/write-failed'));
    // On disk now: a snapshot with v = 5 and the old journal holding the five increments.
    const other = await fresh(dir);
    assert.equal(other.get<{ v: number }>('SELECT v FROM counter')?.v, 5);
    other.close();
    f.set(undefined);
    db.run("UPDATE counter SET v = v + 1 WHERE name = 'shared'");
    assert.equal(db.get<{ v: number }>('SELECT v FROM counter')?.v, 6);
    db.close();
    const last = await fresh(dir);
    assert.equal(last.get<{ v: number }>('SELECT v FROM counter')?.v, 6);
    last.close();
  } finally {
    removeDir(dir);
  }
});

test('a reader that saw a write whose fsync then failed converges back to the disk', async () => {
  const dir = tempDir();
  try {
    const f = faultyFs();
    const writer = await openDb({ dir, migrations: TEST_MIGRATIONS, fs: f.fs, snapshotEveryBytes: 1 << 30 });
    const reader = await fresh(dir);
    insert(writer, 1);
    assert.equal(count(reader), 1);
    let sawIt = -1;
    // The record is fully written but its fsync fails: the reader looks in between, then the
    // writer cuts the record and reports the failure.
    f.set({ code: 'EIO', files: /^journal$/, ops: ['fsync'], before: () => (sawIt = count(reader)) });
    assert.throws(() => insert(writer, 2, 'a rather long body that will be cut again'), (e) => isEngineError(e, 'store/write-failed'));
    assert.equal(sawIt, 2, 'the reader did read the doomed record');
    f.set(undefined);
    insert(writer, 3, 'short');
    insert(writer, 4, 'another record that goes past where the reader thinks the journal ends');
    assert.deepEqual(reader.all('SELECT txn FROM items ORDER BY txn').map((r) => r.txn), [1, 3, 4]);
    reader.run('INSERT INTO items (txn, part, body) VALUES (5, 1, ?)', ['from the reader']);
    assert.deepEqual(writer.all('SELECT txn FROM items ORDER BY txn').map((r) => r.txn), [1, 3, 4, 5]);
    writer.close();
    reader.close();
    const last = await fresh(dir);
    assert.deepEqual(last.all('SELECT txn FROM items ORDER BY txn').map((r) => r.txn), [1, 3, 4, 5]);
    last.close();
  } finally {
    removeDir(dir);
  }
});

/** Mounts a small tmpfs; undefined when the sandbox does not allow mounting. */
function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

test('a real full disk (small tmpfs) and a real read-only remount give write-failed and keep the data', async (t) => {
  const base = tempDir();
  const mnt = path.join(base, 'mnt');
  fs.mkdirSync(mnt);
  if (!mountTmpfs(mnt, '256k')) {
    removeDir(base);
    t.skip('mounting a tmpfs is not permitted here; the fs-port fault tests cover these paths');
    return;
  }
  try {
    const dir = path.join(mnt, 'hyperion');
    const db = await openDb({ dir, migrations: TEST_MIGRATIONS, snapshotEveryBytes: 32 * 1024 });
    let committed = 0;
    let failure: unknown;
    for (let i = 0; i < 500 && !failure; i++) {
      try {
        insert(db, i, `${i}-`.padEnd(2000, 'z'));
        committed++;
      } catch (e) {
        failure = e;
      }
    }
    assert.ok(committed > 5, `some writes fitted (${committed})`);
    assert.ok(writeFailed(dir, /disk is full/)(failure), `expected store/write-failed for a full disk, got ${String(failure)}`);
    t.diagnostic(`after ${committed} writes: ${(failure as Error).message}`);
    assert.equal(count(db), committed, 'the failed write is not visible in memory');

    // The files on the full disk are a valid database with every committed write.
    const copy = path.join(base, 'copy');
    fs.mkdirSync(copy);
    for (const name of ['hyperion.sqlite', 'journal']) fs.copyFileSync(path.join(dir, name), path.join(copy, name));
    const fromCopy = await fresh(copy);
    assert.equal(count(fromCopy), committed);
    fromCopy.close();

    execFileSync('mount', ['-o', 'remount,size=4m', mnt]);
    insert(db, 1000);
    execFileSync('mount', ['-o', 'remount,ro', mnt]);
    assert.throws(() => insert(db, 1001), writeFailed(dir, /read-only/));
    assert.equal(count(db), committed + 1);
    execFileSync('mount', ['-o', 'remount,rw', mnt]);
    db.close();
    const reopened = await fresh(dir);
    assert.equal(count(reopened), committed + 1);
    reopened.close();
  } finally {
    execFileSync('umount', [mnt]);
    removeDir(base);
  }
});
