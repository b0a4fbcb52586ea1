import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { EngineError, isEngineError } from '../../src/engine/errors';
import { applyPatchToTree, commitTree } from '../../src/engine/git/plumbing';
import { filePatch, sh } from '../support/queue-repo';
import { makeQueueFixture, type QueueFixture } from '../support/queue-fixture';

/** A model-style patch: fenced, with prose around it and a hunk whose line counts are wrong. */
function fencedPatch(rel: string, before: string, after: string): string {
  const body = filePatch(rel, before, after).replace(/^@@ .* @@$/m, '@@ -1,7 +1,9 @@');
  return `Here is my change:\n\n\`\`\`diff\n${body}\`\`\`\n\nLet me know!\n`;
}

describe('merge queue: repaired patches, empty changes, re-checks, dependents', () => {
  let fx: QueueFixture;
  afterEach(() => fx?.cleanup());

  it('repairs a model patch before dropping excluded files, and lands the rest', async () => {
    fx = await makeQueueFixture({ 'a.txt': 'a\n', 'b.txt': 'b\n' });
    const raw = fencedPatch('a.txt', 'a\n', 'A\n').replace('```\n\nLet', `${filePatch('b.txt', 'b\n', 'B\n')}\`\`\`\n\nLet`);
    const ch = fx.addChange({ taskId: 'r', patch: raw });
    fx.db.run('UPDATE change_requests SET excluded_files_json = ? WHERE id = ?', [JSON.stringify(['b.txt']), ch]);
    const q = fx.queue();
    q.enqueue(ch, { actor: 'user' });
    await q.runUntilIdle();
    assert.equal(q.list()[0].state, 'merged', q.list()[0].lastError);
    assert.equal(sh(fx.repo.dir, ['show', 'main:a.txt']), 'A\n');
    assert.equal(sh(fx.repo.dir, ['show', 'main:b.txt']), 'b\n');
    const repairs = fx.db.get<{ repairs_json: string }>('SELECT repairs_json FROM queue_entries')!.repairs_json;
    assert.match(repairs, /strip-markdown-fence/);
  });

  it('checks the patch policy on the repaired, file-excluded text', async () => {
    fx = await makeQueueFixture({ 'README.md': 'hi\n' });
    // Fenced (raw text does not parse) and touching a protected path: refused for the path, not as malformed.
    const hook = fx.addChange({ taskId: 'hook', patch: `\`\`\`diff\n${filePatch('.git/hooks/pre-commit', null, 'evil\n')}\`\`\`\n` });
    // A lock file needs explicit approval, unless it is excluded from what lands.
    const lock = fx.addChange({ taskId: 'lock', patch: `${filePatch('package-lock.json', null, '{}\n')}${filePatch('ok.txt', null, 'ok\n')}` });
    fx.db.run('UPDATE change_requests SET excluded_files_json = ? WHERE id = ?', [JSON.stringify(['package-lock.json']), lock]);
    const q = fx.queue();
    assert.throws(() => q.enqueue(hook, { actor: 'user' }), (e: unknown) => isEngineError(e, 'policy/blocked'));
    q.enqueue(lock, { actor: 'user' });
    await q.runUntilIdle();
    assert.deepEqual(fx.landedChanges(), [lock]);
    assert.equal(sh(fx.repo.dir, ['ls-tree', '--name-only', 'main']).trim().split('\n').sort().join(','), 'README.md,ok.txt');
  });

  it('settles a change with an empty patch as merged without a commit, and refuses to revert it', async () => {
    fx = await makeQueueFixture({ 'README.md': 'hi\n' });
    const empty = fx.addChange({ taskId: 'noop', patch: '  \n' });
    const before = fx.repo.head();
    const q = fx.queue();
    q.enqueue(empty, { actor: 'user' });
    await q.runUntilIdle();
    const e = q.list()[0];
    assert.equal(e.state, 'merged');
    assert.equal(e.landedCommit, undefined);
    assert.equal(fx.repo.head(), before);
    const ev = fx.db.get<{ reason: string }>("SELECT reason FROM events WHERE subject_id = ? AND to_state = 'merged'", [e.id]);
    assert.equal(ev!.reason, 'no changes');
    assert.equal(fx.db.get<{ status: string }>("SELECT status FROM tasks WHERE id = 'noop'")!.status, 'merged');
    assert.throws(() => q.revert(empty), (err: unknown) => isEngineError(err, 'queue/bad-state') && /nothing to revert/.test((err as Error).message));
  });

  it('runs the check again on the new candidate when the tip moved before landing', async () => {
    fx = await makeQueueFixture({ 'README.md': 'hi\n' });
    sh(fx.repo.dir, ['branch', 'land']);
    // Someone else's commit that, together with our change, breaks the "build".
    const moved = await commitTree(fx.repo.dir, await applyPatchToTree(fx.repo.dir, 'land', filePatch('breaker.txt', null, 'x\n')), [fx.repo.head()], 'other');
    const flag = path.join(fx.stateDir, 'moved');
    const log = path.join(fx.stateDir, 'checks.log');
    const check = [
      `echo run >> '${log}'`,
      `if [ ! -f '${flag}' ]; then touch '${flag}'; git -C '${fx.repo.dir}' update-ref refs/heads/land ${moved}; fi`,
      '[ ! -f breaker.txt ] || [ ! -f a.txt ] || { echo "a.txt and breaker.txt clash"; exit 4; }',
    ].join('\n');
    const ch = fx.addChange({ taskId: 'a', patch: filePatch('a.txt', null, 'a\n') });
    const q = fx.queue({ targetRef: 'land', config: { checkCommand: check, checkTimeoutMs: 20_000 } });
    q.enqueue(ch, { actor: 'user' });
    await q.runUntilIdle();
    const e = q.list()[0];
    assert.equal(e.state, 'failed');
    assert.match(e.lastError!, /exit 4.*clash/);
    assert.equal(fs.readFileSync(log, 'utf8'), 'run\nrun\n');
    assert.equal(sh(fx.repo.dir, ['rev-parse', 'land']).trim(), moved);
  });

  it('gives the check command the main worktree node_modules, and removes only the link afterwards', async () => {
    fx = await makeQueueFixture({ 'README.md': 'hi\n', '.gitignore': 'node_modules/\n', 'test.js': "process.exit(require('leftpad-ish').pad('x') === ' x' ? 0 : 1);\n" });
    const dep = path.join(fx.repo.dir, 'node_modules', 'leftpad-ish');
    fs.mkdirSync(dep, { recursive: true });
    fs.writeFileSync(path.join(dep, 'index.js'), "exports.pad = (s) => ' ' + s;\n");
    const ch = fx.addChange({ taskId: 'n', patch: filePatch('README.md', 'hi\n', 'hello\n') });
    const q = fx.queue({ config: { checkCommand: 'node test.js', checkTimeoutMs: 20_000 } });
    q.enqueue(ch, { actor: 'user' });
    await q.runUntilIdle();
    assert.equal(q.list()[0].state, 'merged', q.list()[0].lastError);
    assert.ok(fs.existsSync(path.join(dep, 'index.js')), 'the shared node_modules must survive the cleanup');
    assert.equal(sh(fx.repo.dir, ['worktree', 'list']).trim().split('\n').length, 1);
  });

  it('lands a dependent whose patch is relative to its dependency, in order, with the right content', async () => {
    fx = await makeQueueFixture({ 'a.txt': 'one\ntwo\n', 'b.txt': 'bee\n' });
    const runBase = fx.repo.head();
    const t1Patch = filePatch('a.txt', 'one\ntwo\n', 'one\ntwo\nthree\nfour\n');
    // As the scheduler does: the dependent's base is the run base with t1's patch applied.
    const depBase = await commitTree(fx.repo.dir, await applyPatchToTree(fx.repo.dir, runBase, t1Patch), [runBase], 'base for t2', { date: 1 });
    const t2Patch = filePatch('a.txt', 'one\ntwo\nthree\nfour\n', 'one\ntwo\nTHREE\nfour\nfive\n') + filePatch('b.txt', 'bee\n', 'BEE\n');
    const c1 = fx.addChange({ taskId: 't1', patch: t1Patch });
    const c2 = fx.addChange({ taskId: 't2', patch: t2Patch, base: depBase });
    const q = fx.queue();
    q.enqueue(c2, { actor: 'user', dependsOnChangeIds: [c1] }); // approved first, lands second
    q.enqueue(c1, { actor: 'user' });
    await q.runUntilIdle();
    assert.ok(q.list().every((e) => e.state === 'merged'), JSON.stringify(q.list()));
    assert.deepEqual(fx.landedChanges(), [c1, c2]);
    assert.equal(sh(fx.repo.dir, ['show', 'main:a.txt']), 'one\ntwo\nTHREE\nfour\nfive\n');
    assert.equal(sh(fx.repo.dir, ['show', 'main:b.txt']), 'BEE\n');
    assert.equal(fx.repo.read('a.txt'), 'one\ntwo\nTHREE\nfour\nfive\n');
    // Each commit carries only its own change.
    assert.equal(sh(fx.repo.dir, ['diff', '--name-only', 'main~2', 'main~1']).trim(), 'a.txt');
    assert.equal(sh(fx.repo.dir, ['diff', '--name-only', 'main~1', 'main']).trim().split('\n').sort().join(','), 'a.txt,b.txt');
  });

  it('lands changes of one batch that touch the same file by real merges, and fails only the patch that does not apply', async () => {
    const lines = Array.from({ length: 12 }, (_, i) => `line ${i}`).join('\n') + '\n';
    fx = await makeQueueFixture({ 'f.txt': lines, 'g.txt': 'g\n' });
    const edit = (n: number) => lines.replace(`line ${n}\n`, `LINE ${n}\n`);
    const ids = [
      fx.addChange({ taskId: 'top', patch: filePatch('f.txt', lines, edit(0)) }),
      fx.addChange({ taskId: 'bad', patch: filePatch('g.txt', 'not g\n', 'x\n') }),
      fx.addChange({ taskId: 'bottom', patch: filePatch('f.txt', lines, edit(11)) }),
      fx.addChange({ taskId: 'new', patch: filePatch('h.txt', null, 'h\n') }),
    ];
    const q = fx.queue({ config: { queueWorkers: 1 } });
    for (const id of ids) q.enqueue(id, { actor: 'user' });
    await q.runUntilIdle();
    const state = (id: string) => q.list().find((e) => e.changeId === id)!;
    assert.equal(state(ids[1]!).state, 'failed');
    assert.match(state(ids[1]!).lastError!, /does not apply.*g\.txt/);
    for (const id of [ids[0]!, ids[2]!, ids[3]!]) assert.equal(state(id).state, 'merged', state(id).lastError);
    assert.deepEqual(fx.landedChanges(), [ids[0], ids[2], ids[3]]); // approval order, even across an overlap
    assert.equal(sh(fx.repo.dir, ['show', 'main:f.txt']), edit(0).replace('line 11\n', 'LINE 11\n'));
    assert.equal(sh(fx.repo.dir, ['show', 'main:h.txt']), 'h\n');
    assert.equal(sh(fx.repo.dir, ['status', '--porcelain']), '');
  });

  it('leaves no entry in flight when recording a landing fails, and settles it from the ref', async () => {
    fx = await makeQueueFixture({ 'README.md': 'hi\n' });
    const ch = fx.addChange({ taskId: 'x', patch: filePatch('x.txt', null, 'x\n') });
    const real = fx.db;
    let calls = 0;
    // The third transaction of a one-entry pass is lease, intent, then "merged": fail that one once.
    const flaky = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop === 'transaction') {
          return <T>(fn: () => T): T => {
            if (++calls === 3) throw new EngineError('store/locked', 'another process holds the store lock');
            return target.transaction(fn);
          };
        }
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const q = fx.queue({ db: flaky });
    q.enqueue(ch, { actor: 'user' });
    await q.runUntilIdle();
    const e = q.list()[0];
    assert.equal(e.state, 'merged');
    assert.equal(e.landedCommit, fx.repo.head());
    assert.deepEqual(fx.landedChanges(), [ch]);
    assert.equal(fx.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM queue_entries WHERE lease_owner IS NOT NULL')!.n, 0);
  });
});
