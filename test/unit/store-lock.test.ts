import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDb } from '../../src/engine/store/db';
import { isEngineError } from '../../src/engine/errors';
import { toUserError } from '../../src/extension/errorMessages';
import { TEST_MIGRATIONS, exited, removeDir, spawnTsChild, tempDir } from '../support/store-fixtures';

/**
 * A process that no longer holds the write lock (its lock file was deleted, as a user told
 * to "delete the lock" would) notices before it writes and stops with `store/lock-lost`;
 * no write another process reported saved is lost.
 */

type Outcome = { name: string; lines: string[]; code: number | null; stderr: string };

async function until(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('three writers, two of which lose their lock mid-write: the losers stop with store/lock-lost, nothing reported saved is lost', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  try {
    (await openDb({ dir, migrations: TEST_MIGRATIONS })).close();
    const plan = [
      { name: 'w0', stealAt: 4 },
      { name: 'w1', stealAt: 9 },
      { name: 'w2', stealAt: 0 },
    ];
    const outcomes: Outcome[] = plan.map((p) => ({ name: p.name, lines: [], code: null, stderr: '' }));
    const children = plan.map((p, i) =>
      spawnTsChild('store-writer-child.ts', [dir, p.name, '12'], (line) => outcomes[i]!.lines.push(line), p.stealAt ? { HYPERION_STEAL_LOCK_AT: String(p.stealAt) } : {}),
    );
    const done = children.map(async (c, i) => {
      const r = await exited(c);
      outcomes[i]!.code = r.code;
      outcomes[i]!.stderr = (c as unknown as { stderrText: () => string }).stderrText();
    });
    fs.writeFileSync(path.join(dir, 'go'), '');
    const thieves = outcomes.filter((_, i) => plan[i]!.stealAt);
    await until('both thefts to play out', () => thieves.every((o) => o.lines.some((l) => l.startsWith('theft')) || o.code !== null));
    fs.writeFileSync(path.join(dir, 'stop'), '');
    await Promise.all(done);

    // The thefts really happened, and each thief stopped before writing.
    assert.equal(outcomes.flatMap((o) => o.lines).filter((l) => l === 'stole').length, 2, 'two lock files were deleted under their holders');
    for (const [i, o] of outcomes.entries()) {
      const stealAt = plan[i]!.stealAt;
      if (!stealAt) {
        assert.equal(o.code, 0, `${o.name}: ${o.stderr}`);
        continue;
      }
      assert.deepEqual(o.lines.filter((l) => l.startsWith('theft')), [`theft ${stealAt} before`], `${o.name} noticed before writing: ${o.lines.join(',')}`);
      assert.equal(o.code, 3, `${o.name} stopped: ${o.stderr}`);
      assert.ok(!o.lines.includes('wrote-after-loss'), `${o.name} wrote nothing after losing its lock`);
      // By the time the thief looks, the other writer may hold the lock, be creating it, or
      // have released it already.
      assert.match(o.stderr, /lost its write lock on .* \((process \d+ took it|another process took it|its lock file was deleted)\) and stopped before writing, so the change was not saved/);
    }

    const db = await openDb({ dir, migrations: TEST_MIGRATIONS });
    try {
      const rows = db.all<{ txn: number; body: string }>('SELECT txn, body FROM items ORDER BY id');
      const keys = rows.map((r) => `${r.body}:${r.txn}`);
      assert.equal(new Set(keys).size, keys.length, 'no transaction saved twice');
      for (const o of outcomes) {
        for (const l of o.lines.filter((x) => x.startsWith('ok '))) {
          assert.ok(keys.includes(`${o.name}:${l.slice(3)}`), `${o.name} txn ${l.slice(3)} was reported saved and is there`);
        }
        const saved = rows.filter((r) => r.body === o.name).length;
        assert.equal(saved, o.lines.filter((x) => x.startsWith('ok ')).length, `${o.name}: exactly its reported transactions are saved`);
      }
      assert.equal(db.get<{ v: number }>("SELECT v FROM counter WHERE name = 'shared'")!.v, rows.length, 'no lost update to the shared counter');
    } finally {
      db.close();
    }
  } finally {
    removeDir(dir);
  }
});

test('a write that finds its lock gone after appending says the change may or may not be saved, and the process stops writing', async () => {
  const dir = tempDir();
  try {
    const lock = path.join(dir, 'lock');
    let steal = false;
    const db = await openDb({
      dir,
      migrations: TEST_MIGRATIONS,
      crashPoint: (point) => {
        // Another process takes the lock while our record is being written.
        if (point === 'mid-append' && steal) fs.writeFileSync(lock, JSON.stringify({ pid: process.pid, host: os.hostname(), at: Date.now(), token: 'other' }));
      },
    });
    db.run('INSERT INTO items (txn, part, body) VALUES (1, 1, ?)', ['before']);
    steal = true;
    assert.throws(
      () => db.run('INSERT INTO items (txn, part, body) VALUES (2, 1, ?)', ['during']),
      (e) => isEngineError(e, 'store/lock-lost') && e.details?.stage === 'after' && /may or may not have been saved/.test(e.message),
    );
    steal = false;
    fs.rmSync(lock);
    let refused: unknown;
    assert.throws(() => db.run('INSERT INTO items (txn, part, body) VALUES (3, 1, ?)', ['after']), (e) => ((refused = e), isEngineError(e, 'store/lock-lost') && /stopped writing/.test(e.message)));
    assert.match(toUserError(refused, 'Running the plan').message, /^Running the plan stopped: Hyperion lost its write lock .* Reload the window to continue\.$/);
    // Reads still work and show what is on disk (here the record did survive).
    assert.deepEqual(db.all<{ txn: number }>('SELECT txn FROM items ORDER BY txn').map((r) => r.txn), [1, 2]);
  } finally {
    removeDir(dir);
  }
});

test('store/locked tells the user to wait for a live holder and to delete the lock only for a holder on another host', async () => {
  const dir = tempDir();
  try {
    const db = await openDb({ dir, migrations: TEST_MIGRATIONS, lockTimeoutMs: 50 });
    const lock = path.join(dir, 'lock');
    fs.writeFileSync(lock, JSON.stringify({ pid: process.pid, host: os.hostname(), at: Date.now(), token: 'live' }));
    assert.throws(
      () => db.run('INSERT INTO items (txn, part, body) VALUES (1, 1, ?)', ['x']),
      (e) => isEngineError(e, 'store/locked') && e.message.includes(`locked by process ${process.pid}`) && /still running/.test(e.message) && !/delete/i.test(e.message),
    );
    fs.writeFileSync(lock, JSON.stringify({ pid: 4242, host: 'build-box', at: Date.now(), token: 'remote' }));
    assert.throws(
      () => db.run('INSERT INTO items (txn, part, body) VALUES (1, 1, ?)', ['x']),
      (e) => isEngineError(e, 'store/locked') && e.message.includes('process 4242 on build-box') && e.message.includes(`delete ${lock} if no Hyperion is running on build-box`),
    );
    fs.rmSync(lock);
    db.close();
  } finally {
    removeDir(dir);
  }
});
