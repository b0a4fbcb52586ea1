import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { openDb } from '../../src/engine/store/db';
import { watchStore } from '../../src/engine/store/watch';
import { silentLogger } from '../../src/engine/ports';
import { waitFor } from '../support/processes';
import { TEST_MIGRATIONS, exited, removeDir, spawnTsChild, tempDir } from '../support/store-fixtures';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});
function dir(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}
const count = (db: { get<T>(sql: string): T | undefined }) => db.get<{ n: number }>('SELECT COUNT(*) AS n FROM items')!.n;

/** Runs store-writer-child.ts: another process that commits `n` transactions to `d`, then closes. */
async function writeFromAnotherProcess(d: string, name: string, n: number): Promise<void> {
  fs.writeFileSync(path.join(d, 'go'), '');
  fs.writeFileSync(path.join(d, 'stop'), '');
  const child = spawnTsChild('store-writer-child.ts', [d, name, String(n)], () => {});
  const { code } = await exited(child);
  assert.equal(code, 0, (child as unknown as { stderrText: () => string }).stderrText());
}

describe('store: noticing writes by other processes', () => {
  it('counts what other processes wrote, never its own writes', async () => {
    const d = dir();
    const mine = await openDb({ dir: d, migrations: TEST_MIGRATIONS, snapshotEveryBytes: 1 << 30 });
    const other = await openDb({ dir: d, migrations: TEST_MIGRATIONS, snapshotEveryBytes: 1 << 30 });
    try {
      const start = mine.syncFromDisk();
      mine.run('INSERT INTO items (txn, part, body) VALUES (1, 1, ?)', ['mine']);
      assert.equal(mine.syncFromDisk(), start, 'its own write is not a foreign one');
      other.run('INSERT INTO items (txn, part, body) VALUES (2, 1, ?)', ['other']);
      const afterAppend = mine.syncFromDisk();
      assert.ok(afterAppend > start, 'a record another Db appended counts');
      assert.equal(count(mine), 2);
      assert.equal(mine.syncFromDisk(), afterAppend, 'nothing new, nothing counted');
      other.checkpoint();
      assert.ok(mine.syncFromDisk() > afterAppend, 'a new snapshot another Db wrote counts');
      assert.equal(count(mine), 2);
      mine.checkpoint();
      assert.equal(other.syncFromDisk() > 0, true);
    } finally {
      other.close();
      mine.close();
    }
  });

  it('an in-memory store never counts', async () => {
    const db = await openDb({ dir: null, migrations: TEST_MIGRATIONS });
    db.run('INSERT INTO items (txn, part, body) VALUES (1, 1, ?)', ['x']);
    assert.equal(db.syncFromDisk(), 0);
    db.close();
  });

  for (const how of ['the folder watch', 'polling alone'] as const) {
    it(`reports a real second process's writes through ${how}, once taken in, and not its own`, async () => {
      const d = dir();
      const db = await openDb({ dir: d, migrations: TEST_MIGRATIONS });
      let reported = 0;
      const watcher = watchStore({
        dir: d,
        db,
        log: silentLogger,
        onForeignWrite: () => reported++,
        // Polling alone: a watch that cannot start, as on file systems without notifications.
        ...(how === 'polling alone' ? { watch: () => { throw new Error('ENOSYS'); }, pollMs: 20 } : { pollMs: 60_000 }),
      });
      try {
        db.run('INSERT INTO items (txn, part, body) VALUES (0, 1, ?)', ['own']);
        await writeFromAnotherProcess(d, 'cli', 3);
        await waitFor(() => reported > 0, 'the other process\'s writes to be reported');
        // Taken in before the report: the rows are there without another read having caught up.
        assert.equal(count(db), 4);
        const seen = reported;
        db.run('INSERT INTO items (txn, part, body) VALUES (9, 1, ?)', ['own again']);
        await writeFromAnotherProcess(d, 'cli2', 1);
        await waitFor(() => reported > seen, 'a second burst to be reported');
        assert.equal(count(db), 6);
      } finally {
        watcher.dispose();
        db.close();
      }
    });
  }

  it('stays quiet while only this process writes', async () => {
    const d = dir();
    const db = await openDb({ dir: d, migrations: TEST_MIGRATIONS, snapshotEveryBytes: 4096 });
    let reported = 0;
    let looks = 0;
    const watcher = watchStore({
      dir: d,
      log: silentLogger,
      db: { syncFromDisk: () => (looks++, db.syncFromDisk()) },
      onForeignWrite: () => reported++,
      pollMs: 10,
    });
    try {
      // Enough writes to fold the journal into new snapshots several times.
      for (let i = 0; i < 40; i++) db.run('INSERT INTO items (txn, part, body) VALUES (?, 1, ?)', [i, 'x'.repeat(500)]);
      const before = looks;
      await waitFor(() => looks >= before + 5, 'the watcher to look a few more times');
      assert.equal(reported, 0);
    } finally {
      watcher.dispose();
      db.close();
    }
  });
});
