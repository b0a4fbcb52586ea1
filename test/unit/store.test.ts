import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { openDb } from '../../src/engine/store/db';
import { stateDirFor } from '../../src/engine/store/location';
import { locateWasm } from '../../src/engine/store/sqljs';
import { MIGRATIONS } from '../../src/engine/store/migrations';
import type { Migration } from '../../src/engine/store/types';
import { isEngineError } from '../../src/engine/errors';
import { TEST_MIGRATIONS, removeDir, tempDir } from '../support/store-fixtures';

function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = tempDir();
    try {
      await fn(dir);
    } finally {
      removeDir(dir);
    }
  };
}

const insertEvent = 'INSERT INTO events (at, actor, kind, data_json) VALUES (?, ?, ?, ?)';

test('writes survive closing and reopening, and the product schema applies', withDir(async (dir) => {
  const db = await openDb({ dir });
  assert.equal(db.schemaVersion, MIGRATIONS[MIGRATIONS.length - 1]!.version);
  const r = db.run(insertEvent, [1000, 'user', 'run/state', '{"a":1}']);
  assert.deepEqual(r, { changes: 1, lastInsertRowid: 1 });
  db.transaction(() => {
    db.run(insertEvent, [1001, 'agent', 'task/state', null]);
    db.run(insertEvent, [1002, 'queue', 'queue/state', null]);
  });
  db.close();
  const again = await openDb({ dir });
  assert.deepEqual(again.all('SELECT id, at, kind FROM events ORDER BY id'), [
    { id: 1, at: 1000, kind: 'run/state' },
    { id: 2, at: 1001, kind: 'task/state' },
    { id: 3, at: 1002, kind: 'queue/state' },
  ]);
  assert.equal(again.get<{ n: number }>('SELECT count(*) AS n FROM events WHERE actor = ?', ['agent'])?.n, 1);
  assert.equal(again.get('SELECT * FROM events WHERE id = 99'), undefined);
  again.close();
}));

test('writes survive a process that never closed (journal replay)', withDir(async (dir) => {
  const db = await openDb({ dir, migrations: TEST_MIGRATIONS });
  for (let i = 0; i < 20; i++) db.run('INSERT INTO items (txn, part, body) VALUES (?, 1, ?)', [i, `b${i}`]);
  // No close(): a second open must see every committed write from the journal alone.
  const other = await openDb({ dir, migrations: TEST_MIGRATIONS });
  assert.equal(other.get<{ n: number }>('SELECT count(*) AS n FROM items')?.n, 20);
  other.close();
  db.close();
}));

test('an old database opens in a new schema version with its data', withDir(async (dir) => {
  const m1: Migration = { version: 1, description: 'notes', sql: 'CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);' };
  const m2: Migration = { version: 2, description: 'note tags', sql: "ALTER TABLE notes ADD COLUMN tag TEXT NOT NULL DEFAULT 'none'; CREATE INDEX notes_tag ON notes(tag);" };
  const v1 = await openDb({ dir, migrations: [m1] });
  assert.equal(v1.schemaVersion, 1);
  v1.run('INSERT INTO notes (text) VALUES (?)', ['kept']);
  v1.close();

  const v2 = await openDb({ dir, migrations: [m1, m2] });
  assert.equal(v2.schemaVersion, 2);
  assert.deepEqual(v2.all('SELECT id, text, tag FROM notes'), [{ id: 1, text: 'kept', tag: 'none' }]);
  v2.run('INSERT INTO notes (text, tag) VALUES (?, ?)', ['new', 'x']);
  v2.close();

  await assert.rejects(openDb({ dir, migrations: [m1] }), (e) => isEngineError(e, 'store/too-new') && /schema version 2/.test(e.message));
  const again = await openDb({ dir, migrations: [m1, m2] });
  assert.equal(again.get<{ n: number }>('SELECT count(*) AS n FROM notes')?.n, 2);
  again.close();
}));

test('a failing migration leaves the database at its old version', withDir(async (dir) => {
  const m1: Migration = { version: 1, description: 'notes', sql: 'CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT);' };
  const bad: Migration = { version: 2, description: 'broken', sql: 'CREATE TABLE extra (x INTEGER); ALTER TABLE missing ADD COLUMN y;' };
  (await openDb({ dir, migrations: [m1] })).close();
  await assert.rejects(openDb({ dir, migrations: [m1, bad] }), (e) => isEngineError(e, 'store/migration-failed') && /migration 2/.test(e.message));
  const db = await openDb({ dir, migrations: [m1] });
  assert.equal(db.schemaVersion, 1);
  assert.equal(db.get("SELECT name FROM sqlite_master WHERE name = 'extra'"), undefined);
  db.close();
}));

test('a transaction that throws writes nothing, in memory and on disk', withDir(async (dir) => {
  for (const d of [dir, null]) {
    const db = await openDb({ dir: d, migrations: TEST_MIGRATIONS });
    db.run('INSERT INTO items (txn, part, body) VALUES (1, 1, ?)', ['before']);
    assert.throws(() =>
      db.transaction(() => {
        db.run('INSERT INTO items (txn, part, body) VALUES (2, 1, ?)', ['lost']);
        db.run("UPDATE counter SET v = 99 WHERE name = 'shared'");
        throw new Error('boom');
      }), /boom/);
    assert.deepEqual(db.all('SELECT body FROM items'), [{ body: 'before' }]);
    assert.equal(db.get<{ v: number }>('SELECT v FROM counter')?.v, 0);
    db.close();
  }
  const reopened = await openDb({ dir, migrations: TEST_MIGRATIONS });
  assert.deepEqual(reopened.all('SELECT body FROM items'), [{ body: 'before' }]);
  assert.equal(reopened.get<{ v: number }>('SELECT v FROM counter')?.v, 0);
  reopened.close();
}));

test('nested transactions join the outer one; a throwing inner one is undone alone', withDir(async (dir) => {
  const db = await openDb({ dir, migrations: TEST_MIGRATIONS });
  db.transaction(() => {
    db.run('INSERT INTO items (txn, part, body) VALUES (1, 1, ?)', ['outer']);
    db.transaction(() => db.run('INSERT INTO items (txn, part, body) VALUES (1, 2, ?)', ['inner kept']));
    try {
      db.transaction(() => {
        db.run('INSERT INTO items (txn, part, body) VALUES (1, 3, ?)', ['inner undone']);
        throw new Error('inner');
      });
    } catch {
      // The outer transaction carries on.
    }
  });
  assert.throws(() =>
    db.transaction(() => {
      db.transaction(() => db.run('INSERT INTO items (txn, part, body) VALUES (2, 1, ?)', ['gone with outer']));
      throw new Error('outer');
    }), /outer/);
  const expected = [{ body: 'outer' }, { body: 'inner kept' }];
  assert.deepEqual(db.all('SELECT body FROM items ORDER BY id'), expected);
  const other = await openDb({ dir, migrations: TEST_MIGRATIONS });
  assert.deepEqual(other.all('SELECT body FROM items ORDER BY id'), expected);
  other.close();
  db.close();
}));

test('a transaction function that returns a promise is refused and rolled back', async () => {
  const db = await openDb({ dir: null, migrations: TEST_MIGRATIONS });
  assert.throws(
    () => db.transaction(async () => db.run('INSERT INTO items (txn, part, body) VALUES (1, 1, ?)', ['x'])),
    (e) => isEngineError(e, 'store/async-transaction'),
  );
  assert.equal(db.get<{ n: number }>('SELECT count(*) AS n FROM items')?.n, 0);
  db.close();
});

test('non-deterministic SQL is refused with a clear error, before anything is written', async () => {
  const db = await openDb({ dir: null });
  for (const sql of [
    "INSERT INTO events (at, actor, kind) VALUES (abs(random()), 'user', 'k')",
    "INSERT INTO events (at, actor, kind) VALUES (strftime('%s','now'), 'user', 'k')",
    "UPDATE runs SET updated_at = CURRENT_TIMESTAMP",
    "INSERT INTO events (at, actor, kind, reason) VALUES (1, 'user', 'k', datetime())",
  ]) {
    assert.throws(() => db.run(sql), (e) => isEngineError(e, 'store/nondeterministic-sql') && /pass it as a parameter/.test(e.message), sql);
  }
  assert.equal(db.get<{ n: number }>('SELECT count(*) AS n FROM events')?.n, 0);
  // Reads may use them: they are not journaled.
  assert.equal(typeof db.get<{ r: number }>('SELECT random() AS r')?.r, 'number');
  db.close();
});

test('AUTOINCREMENT ids, blobs and named parameters replay identically from the journal', withDir(async (dir) => {
  const db = await openDb({ dir, migrations: TEST_MIGRATIONS });
  const ids: number[] = [];
  for (let i = 0; i < 5; i++) ids.push(db.run('INSERT INTO items (txn, part, body) VALUES ($t, 1, $b)', { $t: i, $b: `row ${i}` }).lastInsertRowid);
  db.run('DELETE FROM items WHERE id >= 4');
  db.transaction(() => {
    ids.push(db.run('INSERT INTO items (txn, part, body) VALUES (?, 1, ?)', [10, 'after delete']).lastInsertRowid);
    db.run('CREATE TABLE IF NOT EXISTS blobs (k TEXT PRIMARY KEY, v BLOB, f REAL)');
    db.run('INSERT INTO blobs VALUES (:k, :v, :f)', { ':k': 'a', ':v': new Uint8Array([0, 255, 7, 128]), ':f': 0.1 + 0.2 });
  });
  assert.deepEqual(ids, [1, 2, 3, 4, 5, 6]);
  const replayed = await openDb({ dir, migrations: TEST_MIGRATIONS });
  assert.deepEqual(replayed.all('SELECT id, body FROM items ORDER BY id'), db.all('SELECT id, body FROM items ORDER BY id'));
  const blob = replayed.get<{ v: Uint8Array; f: number }>('SELECT v, f FROM blobs');
  assert.deepEqual(Array.from(blob!.v), [0, 255, 7, 128]);
  assert.equal(blob!.f, 0.1 + 0.2);
  // The next id continues the sequence in whichever process writes it.
  assert.equal(replayed.run('INSERT INTO items (txn, part, body) VALUES (11, 1, ?)', ['next']).lastInsertRowid, 7);
  assert.equal(db.run('INSERT INTO items (txn, part, body) VALUES (12, 1, ?)', ['next again']).lastInsertRowid, 8);
  replayed.close();
  db.close();
}));

test('a torn journal tail written by hand is ignored and cut, and later writes land', withDir(async (dir) => {
  const db = await openDb({ dir, migrations: TEST_MIGRATIONS, snapshotEveryBytes: 1 << 30 });
  for (let i = 0; i < 3; i++) db.run('INSERT INTO items (txn, part, body) VALUES (?, 1, ?)', [i, 'ok']);
  const journal = path.join(dir, 'journal');
  const goodSize = fs.statSync(journal).size;
  // A record header promising 400 bytes, followed by only a few: what a crash mid-append leaves.
  const torn = Buffer.alloc(40);
  torn.writeUInt32LE(0x52505948, 0);
  torn.writeUInt32LE(400, 4);
  fs.appendFileSync(journal, torn);

  const reopened = await openDb({ dir, migrations: TEST_MIGRATIONS });
  assert.equal(reopened.get<{ n: number }>('SELECT count(*) AS n FROM items')?.n, 3);
  assert.equal(fs.statSync(journal).size, goodSize, 'the torn tail is cut on open');
  reopened.run('INSERT INTO items (txn, part, body) VALUES (3, 1, ?)', ['after']);
  // The first instance catches up past the cut point.
  assert.equal(db.get<{ n: number }>('SELECT count(*) AS n FROM items')?.n, 4);

  // A complete record with a wrong checksum is not what a crash leaves: it is reported as
  // damage (store-damage.test.ts), with every intact record kept.
  fs.appendFileSync(journal, Buffer.from('HYPR\x10\x00\x00\x00garbage-garbage-garbage'));
  await assert.rejects(openDb({ dir, migrations: TEST_MIGRATIONS }), (e) => isEngineError(e, 'store/damaged'));
  const third = await openDb({ dir, migrations: TEST_MIGRATIONS });
  assert.deepEqual(third.all('SELECT txn FROM items ORDER BY id').map((r) => r.txn), [0, 1, 2, 3]);
  third.close();
  reopened.close();
  db.close();
}));

test('other instances catch up after a checkpoint replaces the snapshot', withDir(async (dir) => {
  const a = await openDb({ dir, migrations: TEST_MIGRATIONS, snapshotEveryBytes: 600 });
  const b = await openDb({ dir, migrations: TEST_MIGRATIONS, snapshotEveryBytes: 600 });
  for (let i = 0; i < 30; i++) {
    (i % 2 ? a : b).run('INSERT INTO items (txn, part, body) VALUES (?, 1, ?)', [i, 'x'.repeat(100)]);
    assert.equal(a.get<{ n: number }>('SELECT count(*) AS n FROM items')?.n, i + 1);
    assert.equal(b.get<{ n: number }>('SELECT count(*) AS n FROM items')?.n, i + 1);
  }
  a.checkpoint();
  assert.equal(fs.statSync(path.join(dir, 'journal')).size, 16, 'checkpoint leaves an empty journal');
  b.run('INSERT INTO items (txn, part, body) VALUES (30, 1, ?)', ['y']);
  assert.equal(a.get<{ n: number }>('SELECT count(*) AS n FROM items')?.n, 31);
  a.close();
  b.close();
}));

test('the state folder is inside the git common dir and shared by worktrees', withDir(async (dir) => {
  const repo = path.join(dir, 'repo');
  fs.mkdirSync(repo);
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'pipe' });
  git('init', '-q', '-b', 'main');
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'init');
  git('worktree', 'add', '-q', path.join(dir, 'wt'));
  const main = await stateDirFor(repo);
  const fromWorktree = await stateDirFor(path.join(dir, 'wt'));
  assert.equal(main, path.join(fs.realpathSync(repo), '.git', 'hyperion'));
  assert.equal(fromWorktree, main);
  assert.ok(fs.statSync(main).isDirectory());
  await assert.rejects(stateDirFor(dir), (e) => isEngineError(e, 'git/'));
}));

test('the SQLite engine is found next to the bundle, in sql.js, or where the host says', () => {
  const found = locateWasm();
  assert.ok(fs.existsSync(found) && found.endsWith('sql-wasm.wasm'), found);
  assert.equal(locateWasm('/somewhere/else.wasm'), '/somewhere/else.wasm');
});
