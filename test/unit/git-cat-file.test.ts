import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { isEngineError } from '../../src/engine/errors';
import { readBlobsAt } from '../../src/engine/git/batch';
import { batchProcessPid, readObjects } from '../../src/engine/git/catFile';
import { makeRepo, sh, type TempRepo } from '../support/queue-repo';

describe('the long-lived cat-file reader', () => {
  let repo: TempRepo | undefined;
  afterEach(() => {
    repo?.cleanup();
    repo = undefined;
  });

  it('answers concurrent requests in order, with one process, and sees objects written after it started', async () => {
    repo = makeRepo({ 'a.txt': 'one\n', 'dir/b.txt': 'two\n' });
    const tree = sh(repo.dir, ['rev-parse', 'HEAD^{tree}']).trim();
    assert.deepEqual(await readBlobsAt(repo.dir, tree, ['a.txt']), ['one\n']);
    const pid = batchProcessPid(repo.dir);
    assert.ok(pid !== undefined, 'the reader stays up between requests');
    const asks = Array.from({ length: 20 }, (_, i) => (i % 3 === 0 ? ['a.txt', 'nope'] : i % 3 === 1 ? ['dir/b.txt'] : ['dir', 'a.txt']));
    const got = await Promise.all(asks.map((paths) => readBlobsAt(repo!.dir, tree, paths)));
    assert.deepEqual(got, asks.map((paths) => paths.map((p) => ({ 'a.txt': 'one\n', 'dir/b.txt': 'two\n' } as Record<string, string>)[p])));
    const blob = sh(repo.dir, ['hash-object', '-w', '--stdin'], 'written later\n').trim();
    const [later] = await readObjects(repo.dir, [blob]);
    assert.equal(later?.type, 'blob');
    assert.equal(later?.content.toString('utf8'), 'written later\n');
    assert.equal(batchProcessPid(repo.dir), pid, 'the same process answered them all');
  });

  it('rejects a cancelled request at once and still answers the next ones', async () => {
    repo = makeRepo({ 'a.txt': 'one\n' });
    const ac = new AbortController();
    const cancelled = readObjects(repo.dir, ['HEAD:a.txt'], ac.signal);
    const after = readObjects(repo.dir, ['HEAD:a.txt']);
    ac.abort();
    await assert.rejects(cancelled, (e: unknown) => isEngineError(e, 'cancelled'));
    assert.equal((await after)[0]?.content.toString('utf8'), 'one\n');
  });

  it('reads with a process of its own when the shared one died, and starts a new one next time', async () => {
    repo = makeRepo({ 'a.txt': 'one\n' });
    assert.deepEqual(await readBlobsAt(repo.dir, 'HEAD', ['a.txt']), ['one\n']);
    const pid = batchProcessPid(repo.dir)!;
    // Killed before the read is sent: the reader learns it only when the read is already queued.
    process.kill(pid, 'SIGKILL');
    assert.deepEqual(await readBlobsAt(repo.dir, 'HEAD', ['a.txt']), ['one\n']);
    const deadline = Date.now() + 10_000;
    while (batchProcessPid(repo.dir) === pid) {
      if (Date.now() > deadline) throw new Error('the dead reader was never replaced');
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(await readBlobsAt(repo.dir, 'HEAD', ['a.txt']), ['one\n']);
    assert.notEqual(batchProcessPid(repo.dir), pid);
  });
});
