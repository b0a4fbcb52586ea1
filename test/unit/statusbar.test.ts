import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { QueueSummary } from '../../src/engine/api';
import { formatStatusBar } from '../../src/extension/viewmodel/statusbar';

const idle: QueueSummary = { running: 0, awaitingReview: 0, queued: 0, merged: 0, failed: 0, blocked: 0, costUsd: 0 };

describe('status bar formatting', () => {
  it('reads just "Hyperion" when nothing happens, without a warning', () => {
    const v = formatStatusBar(idle);
    assert.equal(v.text, '$(hubot) Hyperion');
    assert.equal(v.needsAttention, false);
  });

  it('shows running, review, queued, merged, failed counts and the run cost, skipping zeros', () => {
    const v = formatStatusBar({ ...idle, running: 2, awaitingReview: 1, queued: 3, merged: 4, failed: 1, costUsd: 0.256 });
    assert.equal(v.text, '$(hubot) $(sync~spin) 2 $(eye) 1 $(list-ordered) 3 $(git-merge) 4 $(error) 1 $0.26');
    assert.match(v.tooltip, /1 change waiting for review/);
    assert.match(v.tooltip, /2 tasks running/);
    assert.match(v.tooltip, /Run cost: \$0\.26/);
  });

  it('asks for attention when a change waits for review, something failed or the queue is blocked', () => {
    assert.equal(formatStatusBar({ ...idle, running: 3, queued: 2, merged: 9 }).needsAttention, false);
    assert.equal(formatStatusBar({ ...idle, awaitingReview: 1 }).needsAttention, true);
    assert.equal(formatStatusBar({ ...idle, failed: 1 }).needsAttention, true);
    assert.equal(formatStatusBar({ ...idle, blocked: 1 }).needsAttention, true);
  });

  it('counts the tasks running on workers', () => {
    const v = formatStatusBar({ ...idle, running: 3, runningRemotely: 2 });
    assert.equal(v.text, '$(hubot) $(sync~spin) 3 $(remote) 2');
    assert.match(v.tooltip, /3 tasks running, 2 of them on workers/);
    assert.equal(formatStatusBar({ ...idle, running: 1, runningRemotely: 0 }).text, '$(hubot) $(sync~spin) 1');
  });

  it('never hides a cost below one cent', () => {
    assert.match(formatStatusBar({ ...idle, costUsd: 0.004 }).text, /<\$0\.01/);
  });
});
