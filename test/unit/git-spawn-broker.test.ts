import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { afterEach, describe, it } from 'node:test';
import { isEngineError } from '../../src/engine/errors';
import { git, gitRaw } from '../../src/engine/git/exec';
import { helperCallCount, helperPid } from '../../src/engine/git/spawnBroker';
import { makeRepo, type TempRepo } from '../support/queue-repo';

/** Calls git until a call went through the helper (it boots in the background), within a deadline. */
async function untilHelperServes(repo: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  const before = helperCallCount();
  while (helperCallCount() === before) {
    if (Date.now() > deadline) throw new Error('the git helper never served a call');
    await git(['rev-parse', 'HEAD'], { cwd: repo });
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('git spawn broker', () => {
  let repo: TempRepo;
  afterEach(() => repo?.cleanup());

  it('gives through the helper the same bytes, stderr and exit code as a direct spawn', async () => {
    repo = makeRepo({ 'a.txt': 'one\n', 'bin.dat': Buffer.from([0, 1, 2, 255, 10, 0]).toString('latin1') });
    await untilHelperServes(repo.dir);
    const n = helperCallCount();
    const input = 'HEAD:a.txt\nHEAD:bin.dat\nHEAD:missing\n';
    const viaHelper = await gitRaw(['cat-file', '--batch'], { cwd: repo.dir, input });
    assert.equal(helperCallCount(), n + 1);
    const direct = execFileSync('git', ['cat-file', '--batch'], { cwd: repo.dir, input });
    assert.deepEqual(viaHelper.stdout, direct);
    assert.equal(viaHelper.code, 0);
    const bad = await git(['rev-parse', '--verify', 'no-such-ref'], { cwd: repo.dir, check: false });
    assert.equal(bad.code, 128);
    assert.match(bad.stderr, /Needed a single revision/);
    await assert.rejects(git(['rev-parse', '--verify', 'no-such-ref'], { cwd: repo.dir }), (e: unknown) => isEngineError(e, 'git/failed'));
  });

  it('passes the environment of each call (a private index)', async () => {
    repo = makeRepo({ 'a.txt': 'one\n' });
    await untilHelperServes(repo.dir);
    const index = `${repo.dir}/.git/private-index`;
    await git(['read-tree', 'HEAD'], { cwd: repo.dir, env: { GIT_INDEX_FILE: index } });
    const ls = await git(['ls-files', '--stage'], { cwd: repo.dir, env: { GIT_INDEX_FILE: index } });
    assert.match(ls.stdout, /\ta\.txt\n$/);
  });

  it('rejects a cancelled call with cancelled and a timed-out one as a failure', async () => {
    repo = makeRepo({ 'a.txt': 'one\n' });
    await untilHelperServes(repo.dir);
    const slow = ['-c', 'alias.wait=!sleep 3', 'wait'];
    const ac = new AbortController();
    const p = git(slow, { cwd: repo.dir, signal: ac.signal });
    ac.abort();
    await assert.rejects(p, (e: unknown) => isEngineError(e, 'cancelled'));
    const t = await git(slow, { cwd: repo.dir, timeoutMs: 200, check: false });
    assert.notEqual(t.code, 0);
  });

  it('fails the calls of a helper that died with git/spawn and starts a new one for the next', async () => {
    repo = makeRepo({ 'a.txt': 'one\n' });
    await untilHelperServes(repo.dir);
    const pid = helperPid();
    assert.ok(pid !== undefined);
    const p = git(['-c', 'alias.wait=!sleep 3', 'wait'], { cwd: repo.dir });
    process.kill(pid, 'SIGKILL');
    await assert.rejects(p, (e: unknown) => isEngineError(e, 'git/spawn'));
    // Direct spawns carry on while the next helper boots, then it serves again.
    assert.equal((await git(['rev-parse', '--verify', 'HEAD^{tree}'], { cwd: repo.dir })).code, 0);
    await untilHelperServes(repo.dir);
    assert.notEqual(helperPid(), pid);
  });
});
