import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { afterEach, describe, it } from 'node:test';
import { EngineError } from '../../src/engine/errors';
import { acquireLease, getEntry } from '../../src/engine/queue/entries';
import type { Db } from '../../src/engine/store/types';
import { filePatch } from '../support/queue-repo';
import { makeQueueFixture, type QueueFixture } from '../support/queue-fixture';

/** A pid that surely ran on this host and has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid!;
}

/** The fixture's store, with the next `failures` write transactions refused as `store/locked`. */
function flakyStore(db: Db): Db & { failNext(n: number): void; refused: number } {
  let left = 0;
  const flaky = {
    refused: 0,
    failNext(n: number) {
      left = n;
    },
    run: (sql: string, p?: never) => db.run(sql, p),
    all: <T>(sql: string, p?: never) => db.all<T>(sql, p),
    get: <T>(sql: string, p?: never) => db.get<T>(sql, p),
    transaction<T>(fn: () => T): T {
      if (left > 0) {
        left--;
        flaky.refused++;
        throw new EngineError('store/locked', 'the Hyperion database is locked by process 1');
      }
      return db.transaction(fn);
    },
    get schemaVersion() {
      return db.schemaVersion;
    },
    checkpoint: () => db.checkpoint(),
    close: () => db.close(),
  };
  return flaky;
}

describe('merge queue: leases of processes that are gone', () => {
  let fx: QueueFixture;
  afterEach(() => fx?.cleanup());

  it('takes over at once an entry leased by a process of this host that has exited', async () => {
    fx = await makeQueueFixture({ 'README.md': 'hi\n' });
    const ch = fx.addChange({ taskId: 't1', patch: filePatch('a.txt', null, 'a\n') });
    const q = fx.queue();
    const view = q.enqueue(ch, { actor: 'user' });
    const owner = `${os.hostname()}:${deadPid()}/1`;
    // A long lease the dead process will never renew nor release.
    assert.ok(acquireLease(fx.db, getEntry(fx.db, view.id)!, owner, fx.clock.now(), 10 * 60_000));
    await q.runUntilIdle();
    assert.equal(q.list()[0]!.state, 'merged', JSON.stringify(q.list()[0]));
    assert.deepEqual(fx.landedChanges(), [ch]);
    const reasons = fx.db.all<{ reason: string }>('SELECT reason FROM events WHERE subject_id = ? ORDER BY id', [view.id]).map((r) => r.reason);
    assert.ok(reasons.some((r) => r.includes(`lease holder ${owner} is no longer running`)), reasons.join(' | '));
  });

  it('leaves a live process\'s lease alone', async () => {
    fx = await makeQueueFixture({ 'README.md': 'hi\n' });
    const ch = fx.addChange({ taskId: 't1', patch: filePatch('a.txt', null, 'a\n') });
    const q = fx.queue();
    const view = q.enqueue(ch, { actor: 'user' });
    assert.ok(acquireLease(fx.db, getEntry(fx.db, view.id)!, `${os.hostname()}:${process.ppid}/1`, fx.clock.now(), 60_000));
    await q.runUntilIdle();
    assert.equal(q.list()[0]!.state, 'checking');
  });

  it('records a landed entry as merged before the pass ends even when the store is busy for a while', async () => {
    fx = await makeQueueFixture({ 'README.md': 'hi\n' });
    const ch = fx.addChange({ taskId: 't1', patch: filePatch('a.txt', null, 'a\n') });
    const store = flakyStore(fx.db);
    // The landing's own bookkeeping and the first releases meet another process's write lock.
    const q = fx.queue({ db: store, crashPoint: (name) => name === 'before-merged' && store.failNext(3) });
    q.enqueue(ch, { actor: 'user' });
    await q.runUntilIdle();
    assert.equal(store.refused, 3);
    const row = fx.db.get<{ state: string; lease_owner: string | null }>('SELECT state, lease_owner FROM queue_entries')!;
    assert.deepEqual(row, { state: 'merged', lease_owner: null }, 'nothing left in flight when the pass (and the process) ends');
    assert.deepEqual(fx.landedChanges(), [ch]);
  });
});
