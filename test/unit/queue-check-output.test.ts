import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { acquireLease, getEntry } from '../../src/engine/queue/entries';
import { BoundedOutput, failingLines } from '../../src/engine/queue/checkOutput';
import { keepingLogger } from '../support/fault-engine';
import { filePatch } from '../support/queue-repo';
import { makeQueueFixture, type QueueFixture } from '../support/queue-fixture';

describe('check output: the lines that say what failed', () => {
  const cases: Array<{ runner: string; output: string; first: string }> = [
    {
      runner: 'TAP (node --test, tap reporter)',
      output: 'TAP version 13\n# Subtest: adds\nnot ok 1 - adds numbers\n  ---\n  error: \'Expected 3, got 4\'\n  ...\n1..1\n# tests 1\n# pass 0\n# fail 1\n# skipped 0\n# todo 0\n# duration_ms 1011\n',
      first: 'not ok 1 - adds numbers',
    },
    { runner: 'node:test spec', output: '▶ math\n  ✔ subtracts (0.5ms)\n  ✖ adds (1.2ms)\n    AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:\nℹ tests 2\nℹ fail 1\n', first: '✖ adds (1.2ms)' },
    { runner: 'jest', output: 'PASS src/a.test.js\nFAIL src/math.test.js\n  ● math › adds\n\n    expect(received).toBe(expected)\nTests: 1 failed, 3 passed\n', first: 'FAIL src/math.test.js' },
    { runner: 'vitest', output: ' ✓ src/a.test.ts (2)\n FAIL  src/math.test.ts > adds\nAssertionError: expected 4 to be 3\n Test Files  1 failed (2)\n', first: 'FAIL  src/math.test.ts > adds' },
    { runner: 'pytest', output: '============ FAILURES ============\n___ test_add ___\n    def test_add():\n>       assert add(1, 2) == 4\nE       assert 3 == 4\n==== short test summary info ====\nFAILED tests/test_math.py::test_add - assert 3 == 4\n', first: 'E       assert 3 == 4' },
    { runner: 'go test', output: '=== RUN   TestAdd\n    math_test.go:9: got 3, want 4\n--- FAIL: TestAdd (0.00s)\nFAIL\nFAIL\texample.com/m\t0.002s\n', first: '--- FAIL: TestAdd (0.00s)' },
    { runner: 'cargo test', output: "running 1 test\ntest tests::adds ... FAILED\n\nthread 'tests::adds' panicked at src/lib.rs:9:5:\nassertion `left == right` failed\ntest result: FAILED. 0 passed; 1 failed\n", first: "thread 'tests::adds' panicked at src/lib.rs:9:5:" },
    { runner: 'a plain Error', output: 'building...\nError: Cannot find module ./missing\n    at Module._resolveFilename (node:internal)\n', first: 'Error: Cannot find module ./missing' },
  ];
  for (const c of cases) {
    it(`finds the failure in ${c.runner} output`, () => {
      const lines = failingLines(c.output, 1);
      assert.equal(lines[0], c.first, JSON.stringify(lines));
      for (const l of lines) assert.doesNotMatch(l, /^# (skipped|todo|duration_ms)/);
    });
  }

  it('falls back to the last lines that are not summaries, and says nothing for a pass', () => {
    assert.deepEqual(failingLines('compiling\nsomething odd happened\n# tests 1\n# duration_ms 3\n', 2), ['compiling', 'something odd happened']);
    assert.deepEqual(failingLines('not ok 1 - ignored on success\n', 0), []);
    assert.deepEqual(failingLines('\u001b[31mnot ok 1 - red\u001b[0m\n', 1), ['not ok 1 - red']);
  });

  it('keeps the head and tail of a large output within the bound', () => {
    const out = new BoundedOutput(10, 20);
    for (let i = 0; i < 100; i++) out.push(Buffer.from(`line ${i}\n`));
    const { output, truncated } = out.text();
    assert.ok(truncated);
    assert.ok(output.startsWith('line 0\nlin'));
    assert.ok(output.endsWith('line 98\nline 99\n'), output);
    assert.match(output, /bytes of output omitted/);
    const small = new BoundedOutput(10, 20);
    small.push(Buffer.from('short\n'));
    assert.deepEqual(small.text(), { output: 'short\n', truncated: false });
  });
});

describe('merge queue: check output, reasons and the log', () => {
  let fx: QueueFixture;
  afterEach(() => fx?.cleanup());

  it('fails a check with its first failing line as the reason, keeps the full output per attempt, and logs it', async () => {
    fx = await makeQueueFixture({ 'README.md': 'hi\n' });
    const log = keepingLogger();
    const ch = fx.addChange({ taskId: 't1', patch: filePatch('a.txt', null, 'a\n') });
    // Three pages of noise first, the failure, and a summary last: what the old reason showed.
    const check = `for i in $(seq 1 3000); do echo "ok $i - noise"; done; echo "not ok 3001 - adds numbers"; echo "# skipped 0"; echo "# todo 0"; echo "# duration_ms 1011"; exit 1`;
    const q = fx.queue({ log, config: { checkCommand: check } });
    const view = q.enqueue(ch, { actor: 'user' });
    await q.runUntilIdle();
    const e = q.list()[0]!;
    assert.equal(e.state, 'failed');
    assert.equal(e.lastError, 'check failed (exit 1): not ok 3001 - adds numbers');
    assert.equal(e.reason, e.lastError);
    assert.equal(e.hasCheckOutput, true);
    const out = q.checkOutput(view.id)!;
    assert.equal(out.attempt, 1);
    assert.equal(out.exitCode, 1);
    assert.equal(out.timedOut, false);
    assert.equal(out.command, check);
    assert.deepEqual(out.failingLines, ['not ok 3001 - adds numbers']);
    assert.match(out.output, /^ok 1 - noise\n/);
    assert.match(out.output, /ok 2999 - noise\n/);
    assert.equal(out.truncated, false);
    const logged = log.lines.filter((l) => l.startsWith('error landing failed'));
    assert.equal(logged.length, 1, log.lines.join('\n'));
    assert.match(logged[0]!, new RegExp(`"entry":"${view.id}".*"task":"t1".*not ok 3001`));

    // A second attempt keeps its own output; the first stays readable.
    q.retry(view.id);
    await q.runUntilIdle();
    assert.equal(q.checkOutput(view.id)!.attempt, 2);
    assert.equal(q.checkOutput(view.id, 1)!.attempt, 1, 'the first attempt is still readable');
    assert.equal(q.checkOutput(view.id, 7), undefined);
  });

  it('bounds a huge output to about 1 MB, keeping the failure printed at its end', async () => {
    fx = await makeQueueFixture({ 'README.md': 'hi\n' });
    const ch = fx.addChange({ taskId: 't1', patch: filePatch('a.txt', null, 'a\n') });
    const q = fx.queue({ config: { checkCommand: `head -c 3000000 /dev/zero | tr '\\0' 'x'; echo; echo "--- FAIL: TestLate (0.00s)"; exit 1` } });
    const view = q.enqueue(ch, { actor: 'user' });
    await q.runUntilIdle();
    const out = q.checkOutput(view.id)!;
    assert.equal(out.truncated, true);
    assert.ok(out.output.length <= 1024 * 1024 + 200, `${out.output.length} chars kept`);
    assert.deepEqual(out.failingLines, ['--- FAIL: TestLate (0.00s)']);
    assert.match(q.list()[0]!.lastError!, /TestLate/);
  });

  it('keeps a passing check\'s output too', async () => {
    fx = await makeQueueFixture({ 'README.md': 'hi\n' });
    const ch = fx.addChange({ taskId: 't1', patch: filePatch('a.txt', null, 'a\n') });
    const q = fx.queue({ config: { checkCommand: 'echo all good' } });
    const view = q.enqueue(ch, { actor: 'user' });
    await q.runUntilIdle();
    assert.equal(q.list()[0]!.state, 'merged');
    assert.deepEqual({ ...q.checkOutput(view.id)!, output: q.checkOutput(view.id)!.output.trim() }, {
      entryId: view.id, attempt: 1, command: 'echo all good', exitCode: 0, timedOut: false, output: 'all good', truncated: false, failingLines: [],
    });
  });

  it('says why each row waits: its dependency, checking, landed', async () => {
    fx = await makeQueueFixture({ 'README.md': 'hi\n' });
    const first = fx.addChange({ taskId: 't1', patch: filePatch('a.txt', null, 'a\n') });
    const second = fx.addChange({ taskId: 't2', patch: filePatch('b.txt', null, 'b\n') });
    fx.db.run("UPDATE change_requests SET status = 'proposed' WHERE id = ?", [first]);
    const log = keepingLogger();
    const q = fx.queue({ log });
    const dep = q.enqueue(second, { actor: 'user', dependsOnChangeIds: [first] });
    assert.equal(q.list()[0]!.reason, 'waiting for t1');
    await q.runUntilIdle();
    assert.equal(q.list()[0]!.state, 'queued');
    assert.equal(q.list()[0]!.reason, 'waiting for t1');
    fx.db.run("UPDATE change_requests SET status = 'approved' WHERE id = ?", [first]);
    const up = q.enqueue(first, { actor: 'user' });
    assert.ok(acquireLease(fx.db, getEntry(fx.db, up.id)!, 'other/1', fx.clock.now(), 60_000));
    assert.equal(q.list().find((e) => e.id === up.id)!.reason, 'checking');
    fx.db.run("UPDATE queue_entries SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL WHERE id = ?", [up.id]);
    await q.runUntilIdle();
    for (const e of q.list()) assert.match(e.reason!, /^landed as [0-9a-f]{10}$/, JSON.stringify(e));
    assert.equal(q.list().find((e) => e.id === dep.id)!.state, 'merged');
    assert.deepEqual(log.lines, [], 'nothing failed, nothing logged');
  });

  it('says a conflicted entry is being regenerated while its agent works', async () => {
    fx = await makeQueueFixture({ 'a.txt': 'one\n' });
    const ch = fx.addChange({ taskId: 't1', patch: filePatch('a.txt', 'one\n', 'mine\n') });
    fx.repo.write('a.txt', 'theirs\n');
    fx.repo.commitAll('someone else changed a.txt');
    let during: string | undefined;
    const log = keepingLogger();
    const q = fx.queue({
      log,
      regenerate: async (req) => {
        during = q.list()[0]!.reason;
        return { patch: filePatch('a.txt', 'theirs\n', 'mine\n'), baseCommit: req.newTip };
      },
    });
    q.enqueue(ch, { actor: 'user' });
    await q.runUntilIdle();
    assert.equal(during, 'conflict in a.txt, regenerating');
    // The regenerated patch goes back to review; the old entry says so.
    assert.equal(q.list()[0]!.state, 'superseded');
    assert.match(q.list()[0]!.reason!, /regenerated against [0-9a-f]{10} after a conflict in a\.txt/);
    assert.ok(log.lines.some((l) => /^warn landing conflicted .*"task":"t1".*a\.txt/.test(l)), log.lines.join('\n'));
  });

  it('logs a rejected dependent and a blocked entry at warn with entry, task and reason', async () => {
    fx = await makeQueueFixture({ 'README.md': 'hi\n' });
    const log = keepingLogger();
    const first = fx.addChange({ taskId: 't1', patch: filePatch('a.txt', null, 'a\n') });
    const second = fx.addChange({ taskId: 't2', patch: filePatch('README.md', 'hi\n', 'hello\n') });
    fx.db.run("UPDATE change_requests SET status = 'rejected' WHERE id = ?", [first]);
    const third = fx.addChange({ taskId: 't3', patch: filePatch('README.md', 'hi\n', 'hey\n') });
    fx.repo.write('README.md', 'mine\n');
    const q = fx.queue({ log });
    q.enqueue(second, { actor: 'user', dependsOnChangeIds: [first] });
    q.enqueue(third, { actor: 'user' });
    await q.runUntilIdle();
    assert.ok(log.lines.some((l) => /^warn landing rejected .*"task":"t2".*dependency t1 did not merge/.test(l)), log.lines.join('\n'));
    assert.ok(log.lines.some((l) => /^warn landing blocked .*"task":"t3".*README\.md has uncommitted changes/.test(l)), log.lines.join('\n'));
  });
});
