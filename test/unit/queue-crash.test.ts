import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { filePatch, sh } from '../support/queue-repo';
import { makeQueueFixture } from '../support/queue-fixture';

const POINTS = ['after-lease', 'after-proposal', 'after-commit-tree', 'before-update-ref', 'after-update-ref', 'mid-worktree-update', 'before-merged'];
/** Fixed seeds, so every run tests the same cases; QUEUE_CRASH_SEEDS=n explores more. */
const SEEDS = Number(process.env.QUEUE_CRASH_SEEDS ?? 3);
const NODE = process.execPath;
const CHILD = path.join(__dirname, '..', 'support', 'queue-crash-child.ts');

describe('merge queue: crash safety', () => {
  it('merges every approved change exactly once after a SIGKILL at any landing step', async () => {
    const crashes = new Map<string, number>(POINTS.map((p) => [p, 0]));
    for (let seed = 0; seed < SEEDS; seed++) {
      for (const point of POINTS) {
        const occurrence = 1 + (seed % 3);
        const workers = 1 + ((seed + point.length) % 3);
        const fx = await makeQueueFixture({ 'README.md': 'hi\n', 'shared.txt': 'a\nb\nc\n' });
        try {
          const ids = [0, 1, 2, 3].map((i) => fx.addChange({ taskId: `t${i}`, patch: filePatch(`f${seed}-${i}.txt`, null, `seed ${seed} file ${i}\n`) }));
          ids.push(fx.addChange({ taskId: 't4', patch: filePatch('shared.txt', 'a\nb\nc\n', 'a\nB\nc\n') }));
          const q = fx.queue();
          for (const id of ids) q.enqueue(id, { actor: 'user' });
          await fx.reopen();
          fx.db.close();
          const child = spawnSync(NODE, ['--import', 'tsx', CHILD, fx.stateDir, fx.repo.dir, point, String(occurrence), String(workers)], {
            encoding: 'utf8', timeout: 60_000,
          });
          const label = `${point} #${occurrence} with ${workers} workers (seed ${seed})`;
          assert.ok(child.signal === 'SIGKILL' || child.status === 0, `${label}: child ended ${child.status}/${child.signal}: ${child.stderr}`);
          if (child.signal === 'SIGKILL') crashes.set(point, crashes.get(point)! + 1);
          await fx.reopen();
          const q2 = fx.queue({ workerId: 'host' });
          await q2.recover();
          await q2.runUntilIdle();
          const landed = fx.landedChanges();
          assert.deepEqual([...landed].sort(), [...ids].sort(), `${label}: landed ${landed.join(',')}`);
          assert.ok(q2.list().every((e) => e.state === 'merged'), `${label}: ${JSON.stringify(q2.list().map((e) => e.state))}`);
          assert.equal(fs.existsSync(path.join(fx.repo.dir, '.git', 'index.lock')), false, `${label}: index.lock left behind`);
          assert.equal(sh(fx.repo.dir, ['status', '--porcelain']), '', `${label}: worktree differs from HEAD`);
          assert.equal(fx.repo.read('shared.txt'), 'a\nB\nc\n');
        } finally {
          fx.cleanup();
        }
      }
    }
    // Every named point was really reached and crashed at least once (the count, not the clock).
    for (const [point, n] of crashes) assert.ok(n >= 1, `the child crashed at ${point} ${n} times`);
  });
});
