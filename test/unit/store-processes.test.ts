import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { openDb } from '../../src/engine/store/db';
import { isEngineError } from '../../src/engine/errors';
import { TEST_MIGRATIONS, exited, prng, removeDir, spawnTsChild, tempDir } from '../support/store-fixtures';

type Row = { txn: number; part: number; body: string };

test('transactions reported committed survive SIGKILL at random moments, none half-written', async () => {
  const dir = tempDir();
  try {
    const committed = new Set<number>();
    let next = 0;
    const seeds = [11, 23, 37, 41, 53, 67, 79, 97];
    for (const seed of seeds) {
      const rand = prng(seed);
      // Small snapshots so kills also land inside checkpoints (snapshot rename, journal reset).
      const snapshotEveryBytes = rand() < 0.5 ? 16 * 1024 : 64 * 1024;
      let ready = false;
      const child = spawnTsChild('store-crash-child.ts', [dir, String(next), String(snapshotEveryBytes)], (line) => {
        if (line === 'ready') ready = true;
        else committed.add(Number(line));
      });
      const killAfterMs = 30 + Math.floor(rand() * 400);
      await new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (ready || child.exitCode !== null) {
            clearInterval(poll);
            setTimeout(resolve, killAfterMs);
          }
        }, 5);
      });
      child.kill('SIGKILL');
      const { signal, code } = await exited(child);
      assert.equal(signal, 'SIGKILL', `seed ${seed}: child ended on its own (code ${code}): ${(child as unknown as { stderrText: () => string }).stderrText()}`);

      const db = await openDb({ dir, migrations: TEST_MIGRATIONS });
      const rows = db.all<Row>('SELECT txn, part, body FROM items ORDER BY id');
      db.close();
      const parts = new Map<number, number[]>();
      for (const r of rows) {
        parts.set(r.txn, [...(parts.get(r.txn) ?? []), r.part]);
        assert.ok(r.body.startsWith(`txn-${r.txn}-`), `seed ${seed}: body of txn ${r.txn} is intact`);
        assert.equal(r.body.length, 3000 + (r.txn % 7) * 500);
      }
      for (const [txn, p] of parts) assert.deepEqual(p, [1, 2], `seed ${seed}: txn ${txn} has both rows exactly once`);
      for (const n of committed) assert.ok(parts.has(n), `seed ${seed}: committed txn ${n} is present`);
      const present = [...parts.keys()].sort((a, b) => a - b);
      // Transactions are a prefix: the one in flight at the kill may or may not be there.
      assert.deepEqual(present, Array.from({ length: present.length }, (_, i) => i), `seed ${seed}: no gaps`);
      next = present.length;
    }
    assert.ok(committed.size > 20, `the children committed enough to be meaningful (${committed.size})`);
  } finally {
    removeDir(dir);
  }
});

test('two processes incrementing one counter lose no update', async () => {
  const dir = tempDir();
  try {
    (await openDb({ dir, migrations: TEST_MIGRATIONS })).close();
    const N = 150;
    const children = [0, 1].map(() => spawnTsChild('store-counter-child.ts', [dir, String(N), '4096'], () => {}));
    const results = await Promise.all(children.map(exited));
    children.forEach((c, i) => assert.equal(results[i]!.code, 0, (c as unknown as { stderrText: () => string }).stderrText()));
    const db = await openDb({ dir, migrations: TEST_MIGRATIONS });
    assert.equal(db.get<{ v: number }>("SELECT v FROM counter WHERE name = 'shared'")?.v, 2 * N);
    db.close();
  } finally {
    removeDir(dir);
  }
});

test('a lock held too long gives store/locked naming the holder; a dead holder\'s lock is broken', async () => {
  const dir = tempDir();
  try {
    const db = await openDb({ dir, migrations: TEST_MIGRATIONS, lockTimeoutMs: 300 });
    const lockFile = path.join(dir, 'lock');
    // A live process (this one, as another holder would look) took the lock just now.
    fs.writeFileSync(lockFile, JSON.stringify({ pid: process.pid, host: require('node:os').hostname(), at: Date.now(), token: 'someone-else' }));
    const started = Date.now();
    assert.throws(
      () => db.run('INSERT INTO items (txn, part, body) VALUES (1, 1, ?)', ['blocked']),
      (e) => isEngineError(e, 'store/locked') && e.message.includes(`locked by process ${process.pid}`) && e.message.includes(dir),
    );
    assert.ok(Date.now() - started >= 250, 'it waited for the lock before giving up');
    assert.equal(db.get<{ n: number }>('SELECT count(*) AS n FROM items')?.n, 0);

    // A holder that died (its pid no longer exists) does not block anyone.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    fs.writeFileSync(lockFile, JSON.stringify({ pid: Number(dead.stdout), host: require('node:os').hostname(), at: Date.now(), token: 'dead' }));
    db.run('INSERT INTO items (txn, part, body) VALUES (1, 1, ?)', ['after stale lock']);
    assert.equal(fs.existsSync(lockFile), false, 'the lock is released after the write');
    db.close();
  } finally {
    removeDir(dir);
  }
});
