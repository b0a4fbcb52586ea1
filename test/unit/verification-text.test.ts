import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verificationOf, verificationText } from '../../src/engine/changes/verification';

describe('the one line of a change\'s check', () => {
  const shell = `if [ -e '/tmp/hyperion-e2e-x/check-fails' ]; then\n  echo 'not ok 1 - usage'; exit 1\nfi`;

  it('names a long shell check by its start, on one line, and keeps the result readable', () => {
    const passed = verificationText(verificationOf(shell, { exitCode: 0, timedOut: false, output: '', durationMs: 5 }));
    assert.equal(passed, "tests passed in the task's worktree (if [ -e '/tmp/hyperion-e2e-x/check-fails' ]; then echo 'not…)");
    const failed = verificationText(verificationOf(shell, { exitCode: 1, timedOut: false, output: 'not ok 1 - usage\n', durationMs: 5 }));
    assert.match(failed, /^tests failed \(exit 1\) in the task's worktree \(if \[ -e .{40,}…\): not ok 1 - usage$/);
    assert.ok(!failed.includes('\n'));
  });

  it('keeps the stored command whole, and a short command as it is', () => {
    const v = verificationOf(shell, { exitCode: 0, timedOut: false, output: '', durationMs: 5 });
    assert.equal(v.command, shell);
    assert.equal(verificationText(verificationOf('npm test', { exitCode: 0, timedOut: false, output: '', durationMs: 5 })), "tests passed in the task's worktree (npm test)");
  });
});
