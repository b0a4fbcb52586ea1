import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openDb } from '../../src/engine/store/db';
import { stateDirFor } from '../../src/engine/store/location';
import { isEngineError, type EngineError } from '../../src/engine/errors';
import { createRun } from '../../src/engine/runs/runs';
import type { Db } from '../../src/engine/store/types';
import { TEST_MIGRATIONS, removeDir, tempDir } from '../support/store-fixtures';
import { flipByte, recordSpans, runBuiltCli } from '../support/store-journal';
import { makeRepo } from '../support/queue-repo';
import { plan, task, testClock } from '../support/run-fixture';
import { toUserError } from '../../src/extension/errorMessages';

/**
 * A damaged journal (bytes changed after they were written) is reported as `store/damaged`,
 * kept aside as `journal.damaged-<n>` and never cut, and every intact record is recovered.
 * A torn tail (an append interrupted by a crash) is still cut silently.
 */

const TXNS = 5;

/** A store whose journal holds TXNS records, one per txn, left as a process that never closed. */
async function journalWithRecords(dir: string): Promise<{ writer: Db; journal: string; spans: Array<{ offset: number; length: number }> }> {
  const writer = await openDb({ dir, migrations: TEST_MIGRATIONS, snapshotEveryBytes: 1 << 30 });
  for (let i = 0; i < TXNS; i++) writer.run('INSERT INTO items (txn, part, body) VALUES (?, 1, ?)', [i, `body of ${i}`]);
  const journal = path.join(dir, 'journal');
  const spans = recordSpans(journal);
  assert.equal(spans.length, TXNS);
  return { writer, journal, spans };
}

async function txnsAfterReopen(dir: string): Promise<number[]> {
  const db = await openDb({ dir, migrations: TEST_MIGRATIONS });
  try {
    return db.all<{ txn: number }>('SELECT txn FROM items ORDER BY txn').map((r) => r.txn);
  } finally {
    db.close();
  }
}

/** Opens, expects `store/damaged`, and checks the copy is the damaged journal byte for byte. */
async function expectDamaged(dir: string, damagedBytes: Buffer, copyName = 'journal.damaged-1'): Promise<EngineError> {
  const copy = path.join(dir, copyName);
  let err: EngineError | undefined;
  await assert.rejects(openDb({ dir, migrations: TEST_MIGRATIONS }), (e) => {
    assert.ok(isEngineError(e, 'store/damaged'), `expected store/damaged, got ${String(e)}`);
    err = e;
    return true;
  });
  assert.ok(err!.message.includes(copy), `the message names the copy: ${err!.message}`);
  assert.ok(!err!.message.includes('\n'), 'one sentence');
  assert.deepEqual(fs.readFileSync(copy), damagedBytes, 'the damaged journal was kept whole');
  return err!;
}

const cases: Array<{ name: string; at: (spans: Array<{ offset: number; length: number }>) => number; lost: number[] }> = [
  { name: 'the payload of the first record', at: (s) => s[0]!.offset + 12 + 5, lost: [0] },
  { name: 'the head (length field) of the first record', at: (s) => s[0]!.offset + 4, lost: [0] },
  { name: 'the head (magic) of the second record', at: (s) => s[1]!.offset, lost: [1] },
  { name: 'the checksum of the middle record', at: (s) => s[2]!.offset + 9, lost: [2] },
  { name: 'the payload of the middle record', at: (s) => s[2]!.offset + 12 + 10, lost: [2] },
  { name: 'the payload of the last record (complete, so not a torn tail)', at: (s) => s[TXNS - 1]!.offset + 20, lost: [TXNS - 1] },
  { name: 'the journal file header (generation)', at: () => 8, lost: [] },
  { name: 'the journal file header (magic)', at: () => 1, lost: [] },
];

for (const c of cases) {
  test(`a byte flipped in ${c.name} is reported, kept aside, and every intact record recovered`, async () => {
    const dir = tempDir();
    try {
      const { journal, spans } = await journalWithRecords(dir);
      flipByte(journal, c.at(spans));
      const damaged = fs.readFileSync(journal);
      const err = await expectDamaged(dir, damaged);
      const want = Array.from({ length: TXNS }, (_, i) => i).filter((i) => !c.lost.includes(i));
      assert.equal(err.details?.recovered, want.length);
      assert.deepEqual(await txnsAfterReopen(dir), want, 'intact records before and after the damage are kept');
      // Reported once: the recovered state was saved, so later opens are clean and writable.
      const db = await openDb({ dir, migrations: TEST_MIGRATIONS });
      db.run('INSERT INTO items (txn, part, body) VALUES (99, 1, ?)', ['later']);
      db.close();
      assert.deepEqual(await txnsAfterReopen(dir), [...want, 99]);
      assert.deepEqual(fs.readFileSync(path.join(dir, 'journal.damaged-1')), damaged, 'the copy is never touched again');
    } finally {
      removeDir(dir);
    }
  });
}

test('a torn tail (the last record cut short by a crash) is still cut silently', async () => {
  for (const keep of [3, 12, 20]) {
    const dir = tempDir();
    try {
      const { journal, spans } = await journalWithRecords(dir);
      const last = spans[TXNS - 1]!;
      fs.truncateSync(journal, last.offset + keep);
      assert.deepEqual(await txnsAfterReopen(dir), [0, 1, 2, 3], `cut after ${keep} bytes of the last record`);
      assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('damaged')), [], 'no damaged copy for a torn tail');
    } finally {
      removeDir(dir);
    }
  }
});

test('a tail of blocks allocated but never written (zeros) is a torn tail too', async () => {
  const dir = tempDir();
  try {
    const { journal, spans } = await journalWithRecords(dir);
    const last = spans[TXNS - 1]!;
    const b = fs.readFileSync(journal);
    b.fill(0, last.offset + 14);
    fs.writeFileSync(journal, b);
    assert.deepEqual(await txnsAfterReopen(dir), [0, 1, 2, 3]);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('damaged')), []);
  } finally {
    removeDir(dir);
  }
});

test('a process with the store open reports damage to records another process wrote, and a second damage gets its own copy', async () => {
  const dir = tempDir();
  try {
    const { writer, journal, spans } = await journalWithRecords(dir);
    const reader = await openDb({ dir, migrations: TEST_MIGRATIONS });
    assert.equal(reader.all('SELECT txn FROM items').length, TXNS);
    writer.run('INSERT INTO items (txn, part, body) VALUES (5, 1, ?)', ['five']);
    writer.run('INSERT INTO items (txn, part, body) VALUES (6, 1, ?)', ['six']);
    const five = recordSpans(journal)[TXNS]!;
    assert.ok(five.offset > spans[TXNS - 1]!.offset);
    flipByte(journal, five.offset + 15);
    let err: unknown;
    assert.throws(() => reader.all('SELECT txn FROM items'), (e) => ((err = e), isEngineError(e, 'store/damaged') && e.message.includes('journal.damaged-1')));
    // In VS Code: one sentence with an action that reveals the kept copy.
    const shown = toUserError(err, 'Loading the runs');
    assert.deepEqual(shown.actions, ['Open Folder', 'Open Log']);
    assert.equal(shown.reveal, path.join(dir, 'journal.damaged-1'));
    assert.match(shown.message, /was damaged at byte \d+; 6 intact records were recovered and the damaged file was kept as .*journal\.damaged-1\.$/);
    assert.deepEqual(reader.all<{ txn: number }>('SELECT txn FROM items ORDER BY txn').map((r) => r.txn), [0, 1, 2, 3, 4, 6]);

    // The recovered state was folded into a new snapshot; damage to the new journal is
    // reported again, with a new copy next to the first one.
    reader.run('INSERT INTO items (txn, part, body) VALUES (7, 1, ?)', ['seven']);
    reader.run('INSERT INTO items (txn, part, body) VALUES (8, 1, ?)', ['eight']);
    flipByte(journal, recordSpans(journal)[0]!.offset + 14);
    await expectDamaged(dir, fs.readFileSync(journal), 'journal.damaged-2');
    assert.deepEqual(await txnsAfterReopen(dir), [0, 1, 2, 3, 4, 6, 8]);
    assert.ok(fs.existsSync(path.join(dir, 'journal.damaged-1')));
    reader.close();
  } finally {
    removeDir(dir);
  }
});

const cliCases = [
  { name: 'an early record', at: (spans: Array<{ offset: number }>) => spans[0]!.offset + 40, kept: (runs: string[]) => runs.slice(1), where: /at byte \d+/ },
  { name: 'the journal header', at: () => 2, kept: (runs: string[]) => runs, where: /in its header/ },
];

for (const c of cliCases) {
  test(`the built CLI, ${c.name} damaged: history fails with one sentence naming the kept copy, then shows what was recovered`, async () => {
    const repo = makeRepo();
    try {
      const stateDir = await stateDirFor(repo.dir);
      const db = await openDb({ dir: stateDir });
      const runs = ['first', 'second', 'third'].map((goal) =>
        createRun(db, { goal, repo: repo.dir, baseCommit: repo.head(), plan: plan([task(`${goal}-a`)]), approve: 'none', clock: testClock }),
      );
      // Left unclosed, as a killed process leaves it: the runs are records in the journal.
      const journal = path.join(stateDir, 'journal');
      const spans = recordSpans(journal);
      assert.ok(spans.length >= 3);
      flipByte(journal, c.at(spans));

      const first = await runBuiltCli(['history', '--json', '--repo', repo.dir], repo.dir);
      assert.notEqual(first.code, 0, `exit ${first.code}: ${first.stdout}`);
      const copy = path.join(stateDir, 'journal.damaged-1');
      assert.match(first.stderr, /^hyperion: the Hyperion journal in .* was damaged [^;]*; .* kept as .*journal\.damaged-1\.\n$/);
      assert.match(first.stderr, c.where);
      assert.ok(first.stderr.includes(copy), first.stderr);
      assert.equal(first.stdout, '');
      assert.ok(fs.existsSync(copy));

      const second = await runBuiltCli(['history', '--json', '--repo', repo.dir], repo.dir);
      assert.equal(second.code, 0, second.stderr);
      const requests = (JSON.parse(second.stdout) as { requests: Array<{ runId: string; tasks: Array<{ id: string }> }> }).requests;
      const taskRuns = requests.flatMap((r) => r.tasks.map(() => r.runId));
      assert.deepEqual(taskRuns.sort(), c.kept(runs).sort(), 'the runs in intact records are all there');
    } finally {
      repo.cleanup();
    }
  });
}

/** A store whose snapshot holds rows 0..4 and whose journal holds rows 5..6, left unclosed. */
async function snapshotWithRows(dir: string): Promise<{ snapshot: string }> {
  const db = await openDb({ dir, migrations: TEST_MIGRATIONS, snapshotEveryBytes: 1 << 30 });
  for (let i = 0; i < 5; i++) db.run('INSERT INTO items (txn, part, body) VALUES (?, 1, ?)', [i, `snapshot-row-${i}`]);
  db.checkpoint();
  for (let i = 5; i < 7; i++) db.run('INSERT INTO items (txn, part, body) VALUES (?, 1, ?)', [i, `journal-row-${i}`]);
  return { snapshot: path.join(dir, 'hyperion.sqlite') };
}

test('a byte changed inside a value of the database file is reported and kept aside; the rest is kept', async () => {
  const dir = tempDir();
  try {
    const { snapshot } = await snapshotWithRows(dir);
    const at = fs.readFileSync(snapshot).indexOf('snapshot-row-3');
    assert.ok(at > 0);
    flipByte(snapshot, at + 2);
    const damaged = fs.readFileSync(snapshot);
    let err: unknown;
    await assert.rejects(openDb({ dir, migrations: TEST_MIGRATIONS }), (e) => ((err = e), isEngineError(e, 'store/damaged')));
    const copy = path.join(dir, 'hyperion.sqlite.damaged-1');
    assert.match((err as Error).message, /^the Hyperion database file .*hyperion\.sqlite was damaged; .* kept as .*hyperion\.sqlite\.damaged-1$/);
    assert.deepEqual(fs.readFileSync(copy), damaged, 'the damaged database file was kept whole');
    assert.deepEqual(await txnsAfterReopen(dir), [0, 1, 2, 3, 4, 5, 6], 'the journal on top of it is still applied');
    assert.equal(fs.readdirSync(dir).filter((f) => f.includes('damaged')).length, 1, 'reported once');
  } finally {
    removeDir(dir);
  }
});

test('a database file SQLite finds inconsistent is store/corrupt naming its kept copy, kept once however often it is opened', async () => {
  const dir = tempDir();
  try {
    const { snapshot } = await snapshotWithRows(dir);
    // The first byte of a b-tree page says what kind of page it is: here the items table's.
    const page = Math.floor(fs.readFileSync(snapshot).indexOf('snapshot-row-3') / 4096) * 4096;
    flipByte(snapshot, page);
    for (let attempt = 0; attempt < 2; attempt++) {
      await assert.rejects(openDb({ dir, migrations: TEST_MIGRATIONS }), (e) => isEngineError(e, 'store/corrupt') && /beyond repair .* a copy was kept as .*hyperion\.sqlite\.damaged-1;/.test(e.message));
    }
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('damaged')), ['hyperion.sqlite.damaged-1']);
  } finally {
    removeDir(dir);
  }
});

test('a database file damaged where Hyperion keeps its own bookkeeping is store/corrupt naming its kept copy', async () => {
  const dir = tempDir();
  try {
    const { snapshot } = await snapshotWithRows(dir);
    flipByte(snapshot, 4096); // page 2: the store's generation table, created first
    let err: unknown;
    await assert.rejects(openDb({ dir, migrations: TEST_MIGRATIONS }), (e) => ((err = e), isEngineError(e, 'store/corrupt') && /beyond repair .* a copy was kept as .*hyperion\.sqlite\.damaged-1;/.test(e.message)));
    const shown = toUserError(err, 'Opening Hyperion');
    assert.deepEqual(shown.actions, ['Open Folder', 'Open Log']);
    assert.equal(shown.reveal, path.join(dir, 'hyperion.sqlite.damaged-1'));
  } finally {
    removeDir(dir);
  }
});

test('a database file with no recorded checksum (an older Hyperion wrote it) opens without a report', async () => {
  for (const sums of [undefined, '{"1":"00000000:1"}', 'not json']) {
    const dir = tempDir();
    try {
      await snapshotWithRows(dir);
      const sumFile = path.join(dir, 'hyperion.sqlite.sum');
      assert.ok(fs.existsSync(sumFile));
      if (sums === undefined) fs.rmSync(sumFile);
      else fs.writeFileSync(sumFile, sums);
      assert.deepEqual(await txnsAfterReopen(dir), [0, 1, 2, 3, 4, 5, 6]);
      assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('damaged')), []);
    } finally {
      removeDir(dir);
    }
  }
});
