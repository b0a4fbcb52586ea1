import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { writeBlobs } from '../../src/engine/git/batch';
import { blobId, objectsDirFor, writeLooseBlob } from '../../src/engine/git/looseObjects';
import { makeRepo, sh, type TempRepo } from '../support/queue-repo';

describe('loose blobs written from the engine', () => {
  let repo: TempRepo | undefined;
  const dirs: string[] = [];
  afterEach(() => {
    repo?.cleanup();
    repo = undefined;
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('writes objects git reads back and fsck accepts, with the ids git gives them', async () => {
    repo = makeRepo({ 'a.txt': 'one\n' });
    const objects = await objectsDirFor(repo.dir);
    assert.equal(objects, path.join(fs.realpathSync(repo.dir), '.git', 'objects'));
    const contents = ['', 'two\n', 'ünï\n', 'x'.repeat(200_000), '\0binary\u00ff'];
    const ids = await Promise.all(contents.map((c) => writeLooseBlob(objects!, Buffer.from(c, 'utf8'))));
    assert.deepEqual(ids, contents.map((c) => sh(repo!.dir, ['hash-object', '--stdin'], c).trim()));
    for (const [i, id] of ids.entries()) {
      assert.equal(sh(repo.dir, ['cat-file', '-t', id]).trim(), 'blob');
      assert.equal(execFileSync('git', ['cat-file', 'blob', id], { cwd: repo.dir }).toString('utf8'), contents[i]);
    }
    execFileSync('git', ['fsck', '--strict', '--no-dangling'], { cwd: repo.dir, stdio: 'pipe' });
    // Writing an object that is there already changes nothing.
    const file = path.join(objects!, ids[1]!.slice(0, 2), ids[1]!.slice(2));
    const before = fs.statSync(file).mtimeMs;
    assert.equal(await writeLooseBlob(objects!, Buffer.from('two\n')), ids[1]);
    assert.equal(fs.statSync(file).mtimeMs, before);
    assert.deepEqual(fs.readdirSync(path.dirname(file)).filter((n) => n.startsWith('tmp_')), [], 'no temp file is left');
    assert.equal(blobId(Buffer.from('two\n')), ids[1]);
  });

  it('writes into a fan-out folder that git prune removed since the last write there', async () => {
    repo = makeRepo({ 'a.txt': 'one\n' });
    const objects = (await objectsDirFor(repo.dir))!;
    const id = await writeLooseBlob(objects, Buffer.from('pruned\n'));
    fs.rmSync(path.join(objects, id.slice(0, 2)), { recursive: true });
    assert.equal(await writeLooseBlob(objects, Buffer.from('pruned\n')), id);
    assert.equal(execFileSync('git', ['cat-file', 'blob', id], { cwd: repo.dir }).toString(), 'pruned\n');
  });

  it('leaves a SHA-256 repository to git', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-sha256-'));
    dirs.push(dir);
    execFileSync('git', ['init', '-q', '--object-format=sha256', dir]);
    assert.equal(await objectsDirFor(dir), undefined);
    const [id] = await writeBlobs(dir, ['hello\n']);
    assert.equal(id!.length, 64);
    assert.equal(execFileSync('git', ['cat-file', 'blob', id!], { cwd: dir }).toString(), 'hello\n');
  });
});
