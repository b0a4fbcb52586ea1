import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoIdentity } from '../../src/engine/distributed/jobs';
import { isEngineError } from '../../src/engine/errors';

const run = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

describe('a repository identity for workers', () => {
  it('is the root commit of a clone, the same in every clone of the project', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyp-id-'));
    const origin = path.join(dir, 'origin');
    fs.mkdirSync(origin);
    run(origin, 'init', '-q', '-b', 'main');
    fs.writeFileSync(path.join(origin, 'a.txt'), 'a\n');
    run(origin, 'add', '.');
    run(origin, '-c', 'user.name=t', '-c', 'user.email=t@e', 'commit', '-qm', 'root');
    run(dir, 'clone', '-q', origin, 'clone');
    const root = run(origin, 'rev-list', '--max-parents=0', 'HEAD');
    assert.equal(await repoIdentity(origin), root);
    assert.equal(await repoIdentity(path.join(dir, 'clone')), root);
  });

  it('of a clone whose branch has no commit is a sentence naming the branch, not git\'s "ambiguous argument"', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyp-id-'));
    run(dir, 'init', '-q', '--bare', '-b', 'trunk', 'remote.git');
    run(dir, 'clone', '-q', 'remote.git', 'empty');
    await assert.rejects(repoIdentity(path.join(dir, 'empty')), (e: unknown) => {
      assert.ok(isEngineError(e));
      assert.equal(e.code, 'git/bad-rev');
      assert.match(e.message, /has no commit checked out \(its branch trunk has no commit yet\): clone a remote that has the project's commits/);
      assert.doesNotMatch(e.message, /ambiguous/);
      return true;
    });
  });
});
