import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { createEngine } from '../../src/engine/engine';
import type { RunnablePlan } from '../../src/engine/api';
import { silentLogger } from '../../src/engine/ports';
import { faultConfig } from '../support/fault-engine';
import { filePatch, makeRepo, sh } from '../support/queue-repo';
import { makeQueueFixture, type QueueFixture } from '../support/queue-fixture';
import { testSecrets } from '../support/loopback/client';
import { ensureCliBuilt, runCli } from '../support/cli';

/** A check command that counts its runs in `file` (outside the repository) and passes. */
function countingCheck(file: string): string {
  return `echo run >> ${JSON.stringify(file)}`;
}

function runs(file: string): number {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
}

describe('merge queue: entries blocked on the user\'s files', () => {
  let fx: QueueFixture;
  let tmp: string;
  afterEach(() => {
    fx?.cleanup();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('says "unsaved" for an editor buffer and "uncommitted" for a modified file, and lands once both are clean', async () => {
    fx = await makeQueueFixture({ 'README.md': 'hello\n', 'a.txt': 'a\n' });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-count-'));
    const count = path.join(tmp, 'checks');
    let unsaved = true;
    const readme = fx.addChange({ taskId: 't1', patch: filePatch('README.md', 'hello\n', 'hello world\n') });
    const a = fx.addChange({ taskId: 't2', patch: filePatch('a.txt', 'a\n', 'A\n') });
    fx.repo.write('a.txt', 'my edit\n');
    const q = fx.queue({ isPathDirtyInEditor: (p) => unsaved && p === 'README.md', config: { checkCommand: countingCheck(count) } });
    q.enqueue(readme, { actor: 'user' });
    q.enqueue(a, { actor: 'user' });
    await q.runUntilIdle();
    const row = (c: string) => q.list().find((e) => e.changeId === c)!;
    assert.equal(row(readme).state, 'blocked');
    assert.equal(row(readme).reason, 'blocked: README.md has unsaved edits');
    assert.equal(row(a).state, 'blocked');
    assert.equal(row(a).reason, 'blocked: a.txt has uncommitted changes');
    assert.deepEqual(row(a).blockedPaths, ['a.txt']);
    const checked = runs(count);

    // Still dirty: a pass neither re-runs their checks nor moves them.
    await q.runUntilIdle();
    assert.equal(runs(count), checked, 'no check re-run for an entry whose files are still dirty');
    assert.equal(await q.recheckBlocked(), 0);
    assert.equal(row(readme).state, 'blocked');

    // The user saves README.md (the buffer is clean) and commits a.txt's edit.
    unsaved = false;
    sh(fx.repo.dir, ['commit', '-qam', 'my edit']);
    assert.equal(await q.recheckBlocked(), 2);
    assert.equal(row(readme).state, 'queued');
    await q.runUntilIdle();
    assert.equal(row(readme).state, 'merged', row(readme).reason);
    assert.equal(fx.repo.read('README.md'), 'hello world\n');
    // a.txt now conflicts with the user's commit (no regenerate hook): it stops as itself.
    assert.equal(row(a).state, 'quarantined', JSON.stringify(row(a)));
    assert.equal(sh(fx.repo.dir, ['status', '--porcelain']), '');
  });

  it('lands a blocked entry on the next queue pass once its file is saved clean (the CLI\'s path)', async () => {
    fx = await makeQueueFixture({ 'README.md': 'hello\n' });
    const ch = fx.addChange({ taskId: 't1', patch: filePatch('README.md', 'hello\n', 'hello world\n') });
    fx.repo.write('README.md', 'unsaved-then-saved\n');
    const q = fx.queue();
    q.enqueue(ch, { actor: 'user' });
    await q.runUntilIdle();
    assert.equal(q.list()[0].state, 'blocked');
    fx.repo.write('README.md', 'hello\n');
    await q.runUntilIdle();
    assert.equal(q.list()[0].state, 'merged', q.list()[0].reason);
  });

  it('retries a blocked entry on request', async () => {
    fx = await makeQueueFixture({ 'README.md': 'hello\n' });
    const ch = fx.addChange({ taskId: 't1', patch: filePatch('README.md', 'hello\n', 'hello world\n') });
    fx.repo.write('README.md', 'mine\n');
    const q = fx.queue();
    const view = q.enqueue(ch, { actor: 'user' });
    await q.runUntilIdle();
    assert.equal(q.list()[0].state, 'blocked');
    assert.equal(q.retry(view.id).state, 'queued');
    fx.repo.write('README.md', 'hello\n');
    await q.runUntilIdle();
    assert.equal(q.list()[0].state, 'merged');
  });

  it('never blocks when git refuses the checkout for its own reason: a too-long file name fails with git\'s error', async () => {
    fx = await makeQueueFixture({ 'README.md': 'hello\n' });
    const long = `${'n'.repeat(300)}.txt`;
    const ch = fx.addChange({ taskId: 't1', patch: filePatch('ok.txt', null, 'ok\n') });
    const q = fx.queue();
    q.enqueue(ch, { actor: 'user' });
    // Past the enqueue-time policy (as a regenerated patch would be): only the checkout can refuse it.
    fx.db.run('UPDATE change_requests SET patch = ? WHERE id = ?', [filePatch(long, null, 'x\n'), ch]);
    const before = fx.repo.head();
    await q.runUntilIdle();
    const e = q.list()[0];
    assert.equal(sh(fx.repo.dir, ['status', '--porcelain']), '');
    assert.notEqual(e.state, 'blocked', JSON.stringify(e));
    assert.equal(e.state, 'failed', JSON.stringify(e));
    assert.doesNotMatch(e.lastError!, /uncommitted|unsaved/);
    assert.match(e.lastError!, /too long|name/i);
    assert.equal(fx.repo.head(), before, 'the ref was put back');
  });
});

describe('engine: recheckBlocked', () => {
  it('re-checks blocked entries now and lands the ones whose files are clean, without waiting for another approval', async () => {
    const repo = makeRepo({ 'README.md': 'hello\n' });
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-state-'));
    let unsaved = true;
    const engine = await createEngine({
      repo: repo.dir, stateDir, config: faultConfig(undefined), ports: { log: silentLogger, secrets: testSecrets },
      isPathDirtyInEditor: (p) => unsaved && p === 'README.md',
    });
    try {
      const plan: RunnablePlan = {
        goal: 'edit the readme', rationale: '', confidence: 1, questions: [], assumptions: [],
        tasks: [{ id: 't1', title: 'edit', type: 'code_gen', prompt: 'edit', acceptanceCriteria: [], dependsOn: [], files: ['README.md'], patch: filePatch('README.md', 'hello\n', 'hello world\n') }],
      };
      const { done } = await engine.startRun(plan, { approve: 'all' });
      await done;
      await engine.runQueue();
      assert.equal(engine.listQueue()[0]!.state, 'blocked');
      assert.equal(engine.listQueue()[0]!.reason, 'blocked: README.md has unsaved edits');
      unsaved = false; // the user saved the buffer back to what is committed
      await engine.recheckBlocked();
      assert.equal(engine.listQueue()[0]!.state, 'merged', engine.listQueue()[0]!.reason);
      assert.equal(repo.read('README.md'), 'hello world\n');
    } finally {
      await engine.dispose();
      repo.cleanup();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});

describe('CLI: a blocked entry lands on the next queue pass', () => {
  it('`request` blocks on the user\'s uncommitted file, and the next `request` lands it once the file is committed', async () => {
    ensureCliBuilt();
    const repo = makeRepo({ 'README.md': 'hello\n', 'other.txt': 'o\n' });
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-req-'));
    try {
      const request = (name: string, rel: string, before: string, after: string) => {
        const file = path.join(work, `${name}.json`);
        fs.writeFileSync(file, JSON.stringify({ goal: name, approve: 'all', tasks: [{ id: name, title: name, type: 'code_gen', patch: filePatch(rel, before, after) }] }));
        return runCli(['request', file, '--json'], { cwd: repo.dir });
      };
      repo.write('README.md', 'hello\n\nmy notes\n');
      await request('readme', 'README.md', 'hello\n', 'hello world\n');
      const queue = async () => JSON.parse((await runCli(['queue', 'list', '--json'], { cwd: repo.dir })).stdout) as { entries: Array<{ taskId: string; state: string; reason?: string }> };
      const blocked = (await queue()).entries.find((e) => e.taskId === 'readme')!;
      assert.equal(blocked.state, 'blocked');
      assert.equal(blocked.reason, 'blocked: README.md has uncommitted changes');
      // The user puts their notes away; any later queue pass picks the change up.
      repo.write('README.md', 'hello\n');
      const next = await request('other', 'other.txt', 'o\n', 'O\n');
      assert.equal(next.code, 0, next.stderr);
      const after = (await queue()).entries;
      assert.deepEqual(after.map((e) => [e.taskId, e.state]).sort(), [['other', 'merged'], ['readme', 'merged']], JSON.stringify(after));
      assert.equal(repo.read('README.md'), 'hello world\n');
    } finally {
      repo.cleanup();
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
