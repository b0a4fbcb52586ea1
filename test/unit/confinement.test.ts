import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { fingerprintChanges, fingerprintRepo } from '../../src/engine/git/confinement';
import { makeRepo, type TempRepo } from '../support/queue-repo';

let repo: TempRepo | undefined;
afterEach(() => {
  repo?.cleanup();
  repo = undefined;
});

const git = (dir: string, ...args: string[]) => execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...args], { cwd: dir, stdio: 'pipe' });

describe('repository fingerprint', () => {
  it('sees a second edit of an already modified file, a new untracked file and a staged change', async () => {
    repo = makeRepo({ 'a.txt': 'a\n', 'b.txt': 'b\n' });
    const dir = repo.dir;
    fs.writeFileSync(path.join(dir, 'a.txt'), 'mine\n');
    const before = await fingerprintRepo(dir);
    assert.deepEqual(fingerprintChanges(before, await fingerprintRepo(dir)), [], 'taking it changes nothing');
    fs.writeFileSync(path.join(dir, 'a.txt'), 'mine, edited again\n');
    assert.deepEqual(fingerprintChanges(before, await fingerprintRepo(dir)), ["the user's checkout"]);
    fs.writeFileSync(path.join(dir, 'a.txt'), 'mine\n');
    fs.writeFileSync(path.join(dir, 'new.txt'), 'x\n');
    assert.deepEqual(fingerprintChanges(before, await fingerprintRepo(dir)), ["the user's checkout"]);
    fs.rmSync(path.join(dir, 'new.txt'));
    git(dir, 'add', 'a.txt');
    assert.deepEqual(fingerprintChanges(before, await fingerprintRepo(dir)), ["the user's checkout", "the user's index"]);
  });

  it('does not move when a commit lands on the checked-out branch (HEAD, index and files together)', async () => {
    repo = makeRepo({ 'a.txt': 'a\n', 'b.txt': 'b\n' });
    const dir = repo.dir;
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'my notes\n');
    fs.writeFileSync(path.join(dir, 'a.txt'), 'mine\n');
    const before = await fingerprintRepo(dir);
    fs.writeFileSync(path.join(dir, 'b.txt'), 'landed\n');
    git(dir, 'add', 'b.txt');
    git(dir, 'commit', '-q', '-m', 'landed by the queue');
    assert.deepEqual(fingerprintChanges(before, await fingerprintRepo(dir)), []);
  });
});
