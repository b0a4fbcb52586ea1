import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BlockedRecheck, canUnblock, type Scheduler } from '../../src/extension/viewmodel/recheck';
import { ReviewNotice, reviewNoticeText, type NoticeHandle } from '../../src/extension/viewmodel/reviewNotice';

/** A timer the test fires by hand: no clock involved. */
class ManualScheduler implements Scheduler {
  private next = 1;
  readonly pending = new Map<number, () => void>();
  set(fn: () => void): unknown {
    const id = this.next++;
    this.pending.set(id, fn);
    return id;
  }
  clear(h: unknown): void {
    this.pending.delete(h as number);
  }
  runAll(): void {
    const fns = [...this.pending.values()];
    this.pending.clear();
    for (const f of fns) f();
  }
}

const settle = () => new Promise((r) => setImmediate(r));

describe('re-checking blocked entries (A4)', () => {
  it('reacts to working-tree files and to commits, not to git internals or its own store', () => {
    assert.ok(canUnblock('README.md'));
    assert.ok(canUnblock('src/a.ts'));
    assert.ok(canUnblock('.git/HEAD'), 'a checkout');
    assert.ok(canUnblock('.git/refs/heads/main'), 'a commit');
    assert.ok(canUnblock('.git/packed-refs'));
    assert.ok(!canUnblock('.git/index'), 'a re-check refreshes the index: it must not re-trigger itself');
    assert.ok(!canUnblock('.git/hyperion/state.sqlite'), 'the store is written by every re-check');
    assert.ok(!canUnblock('.git/objects/ab/cdef'));
    assert.ok(!canUnblock('.hyperion-tmp/wt1/README.md'));
    assert.ok(!canUnblock('../outside.txt'));
  });

  it('turns a burst of saves and file events into one re-check, and only while something is blocked', async () => {
    const timers = new ManualScheduler();
    let blocked = true;
    let calls = 0;
    const r = new BlockedRecheck({ hasBlocked: () => blocked, recheck: async () => { calls += 1; }, scheduler: timers });
    r.poke();
    r.poke();
    r.poke();
    assert.equal(timers.pending.size, 1, 'one timer for the burst');
    timers.runAll();
    await settle();
    assert.equal(calls, 1);
    blocked = false;
    r.poke();
    assert.equal(timers.pending.size, 0, 'nothing blocked: nothing scheduled');
    r.dispose();
  });

  it('runs once more after a re-check when a file changed during it', async () => {
    const timers = new ManualScheduler();
    let release!: () => void;
    let calls = 0;
    const r = new BlockedRecheck({
      hasBlocked: () => true,
      recheck: () => { calls += 1; return calls === 1 ? new Promise<void>((res) => { release = res; }) : Promise.resolve(); },
      scheduler: timers,
    });
    r.poke();
    timers.runAll();
    await settle();
    r.poke();
    r.poke();
    assert.equal(timers.pending.size, 0, 'no second call while the first runs');
    release();
    await settle();
    timers.runAll();
    await settle();
    assert.equal(calls, 2);
    r.dispose();
  });

  it('reports a failing re-check and keeps working', async () => {
    const timers = new ManualScheduler();
    const errors: unknown[] = [];
    let calls = 0;
    const r = new BlockedRecheck({ hasBlocked: () => true, recheck: async () => { calls += 1; throw new Error('store busy'); }, onError: (e) => errors.push(e), scheduler: timers });
    r.poke();
    timers.runAll();
    await settle();
    r.poke();
    timers.runAll();
    await settle();
    assert.equal(calls, 2);
    assert.equal(errors.length, 2);
    r.dispose();
    r.poke();
    assert.equal(timers.pending.size, 0, 'disposed: nothing scheduled');
  });
});

describe('the "changes waiting" notice (E)', () => {
  function fakeOpen() {
    const shown: string[] = [];
    const closed: boolean[] = [];
    let dismiss!: () => void;
    const notice = new ReviewNotice({
      open: (until) => {
        const i = closed.push(false) - 1;
        void until.then(() => { closed[i] = true; });
        const handle: NoticeHandle = { report: (m) => shown.push(m) };
        return { handle, dismissed: new Promise<void>((r) => { dismiss = r; }) };
      },
    });
    return { notice, shown, closed, dismiss: () => dismiss() };
  }

  it('keeps one notice that follows the count and closes by itself when nothing waits', async () => {
    const { notice, shown, closed } = fakeOpen();
    notice.update(2, true);
    notice.update(3, true);
    assert.equal(notice.opened, 1, 'a second run does not stack another notice');
    assert.deepEqual(shown, [reviewNoticeText(2), reviewNoticeText(3)]);
    notice.update(0);
    await settle();
    assert.deepEqual(closed, [true]);
    assert.equal(notice.isOpen, false);
    notice.update(1);
    assert.equal(notice.opened, 1, 'a refresh does not reopen a closed notice');
  });

  it('forgets a notice the user dismissed', async () => {
    const { notice, dismiss } = fakeOpen();
    notice.update(1, true);
    dismiss();
    await settle();
    assert.equal(notice.isOpen, false);
    notice.update(2, true);
    assert.equal(notice.opened, 2);
    assert.match(reviewNoticeText(1), /^1 change waiting/);
  });
});
