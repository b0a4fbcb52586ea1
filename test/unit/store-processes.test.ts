import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { openDb } from '../../src/engine/store/db';
import { isEngineError } from '../../src/engine/errors';
import { TEST_MIGRATIONS, exited, prng, removeDir, spawnTsChild, tempDir } from '../support/store-fixtures';
import { testSeeds } from '../support/store-crash-points';

type Row = { txn: number; part: number; body: string };

/** Points reached once per transaction, and whether the transaction is on disk when killed there. */
const PER_TXN: Record<string, boolean> = { 'before-append': false, 'mid-append': false, 'after-append': true, 'after-commit': true };
/** Points reached inside a checkpoint, which runs after a transaction is durable but before it returns. */
const IN_CHECKPOINT = ['mid-snapshot', 'after-snapshot'];

test('transactions reported committed survive SIGKILL at every crash point of a write, none half-written', async () => {
  const dir = tempDir();
  try {
    (await openDb({ dir, migrations: TEST_MIGRATIONS })).close();
    const points = [...Object.keys(PER_TXN), ...IN_CHECKPOINT];
    const committed = new Set<number>();
    let next = 0;
    let crashes = 0;
    const seeds = testSeeds([11, 23, 37, 41, 53, 67, 79, 97]);
    for (const [i, seed] of seeds.entries()) {
      const rand = prng(seed);
      // Every point at least once with the default seeds; the occurrence and snapshot size vary.
      const point = i < points.length ? points[i]! : points[Math.floor(rand() * points.length)]!;
      const nth = 1 + Math.floor(rand() * 4);
      // Small snapshots so checkpoints (snapshot rename, journal reset) happen every few writes.
      const snapshotEveryBytes = rand() < 0.5 ? 16 * 1024 : 24 * 1024;
      const reported: number[] = [];
      let crashLine = '';
      const child = spawnTsChild('store-crash-child.ts', [dir, String(next), String(snapshotEveryBytes)], (line) => {
        if (line.startsWith('crash ')) crashLine = line;
        else if (/^\d+$/.test(line)) reported.push(Number(line));
      }, { HYPERION_CRASH_AT: `${point}:${nth}` });
      const { signal, code } = await exited(child);
      const label = `seed ${seed} (${point}:${nth})`;
      assert.equal(signal, 'SIGKILL', `${label}: child ended on its own (code ${code}): ${(child as unknown as { stderrText: () => string }).stderrText()}`);
      assert.equal(crashLine, `crash ${point} ${nth}`, `${label}: killed at its crash point`);
      crashes++;
      for (const n of reported) committed.add(n);

      const db = await openDb({ dir, migrations: TEST_MIGRATIONS });
      const rows = db.all<Row>('SELECT txn, part, body FROM items ORDER BY id');
      db.close();
      const parts = new Map<number, number[]>();
      for (const r of rows) {
        parts.set(r.txn, [...(parts.get(r.txn) ?? []), r.part]);
        assert.ok(r.body.startsWith(`txn-${r.txn}-`), `${label}: body of txn ${r.txn} is intact`);
        assert.equal(r.body.length, 3000 + (r.txn % 7) * 500);
      }
      for (const [txn, p] of parts) assert.deepEqual(p, [1, 2], `${label}: txn ${txn} has both rows exactly once`);
      for (const n of committed) assert.ok(parts.has(n), `${label}: committed txn ${n} is present`);
      const present = [...parts.keys()].sort((a, b) => a - b);
      assert.deepEqual(present, Array.from({ length: present.length }, (_, k) => k), `${label}: no gaps`);
      // Where the kill landed decides exactly whether the transaction in flight is there.
      const inFlight = present.length - next - reported.length;
      if (point in PER_TXN) {
        assert.equal(reported.length, nth - 1, `${label}: transactions reported before the crash`);
        assert.equal(inFlight, PER_TXN[point] ? 1 : 0, `${label}: the transaction in flight is ${PER_TXN[point] ? '' : 'not '}on disk`);
      } else {
        assert.equal(inFlight, 1, `${label}: the transaction whose checkpoint was killed is on disk`);
      }
      next = present.length;
    }
    assert.equal(crashes, seeds.length, 'every child was killed at its crash point');
    assert.ok(committed.size >= seeds.length, `the children committed transactions (${committed.size})`);
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
