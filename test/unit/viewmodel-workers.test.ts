import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { RunView, WorkerView } from '../../src/engine/api';
import { EngineError } from '../../src/engine/errors';
import { COMMANDS, CONTEXT_KEYS, VIEWS } from '../../src/extension/commandIds';
import {
  engineTaskTitle, formatAgo, LATE_HEARTBEAT_MS, workerItem, workerRows, WorkersModel, WorkersPoll, type PollTimers,
} from '../../src/extension/viewmodel/workers';
import { FakeEngine } from '../support/fakeEngine';

const NOW = 1_800_000_000_000;

function worker(extra: Partial<WorkerView> = {}): WorkerView {
  return {
    name: 'build-box-1', host: 'build-box', pid: 4242, agents: ['aider', 'claude'], concurrency: 2, checks: false,
    running: [], startedAt: NOW - 3_600_000, heartbeatAt: NOW - 2000, ...extra,
  };
}

function run(): RunView {
  return {
    id: 'r1', goal: 'g', status: 'running', costUsd: 0, createdAt: 0,
    tasks: [{ id: 't3', runId: 'r1', title: 'Add rate limiting to the API', type: 'code_gen', status: 'running', dependsOn: [], attempts: 1, costUsd: 0 } as unknown as RunView['tasks'][number]],
  };
}

/** Timers the test advances by hand: `tick()` runs every live interval once. */
function manualTimers(): PollTimers & { live: Set<number>; tick(): void } {
  const fns = new Map<number, () => void>();
  let n = 0;
  return {
    live: new Set(),
    setInterval(fn) {
      n += 1;
      fns.set(n, fn);
      this.live.add(n);
      return n;
    },
    clearInterval(h) {
      fns.delete(h as number);
      this.live.delete(h as number);
    },
    tick() {
      for (const fn of [...fns.values()]) fn();
    },
  };
}

describe('Workers view model', () => {
  it('shows a worker\'s name, host, current task, heartbeat relative to the clock passed in, and agents', () => {
    const engine = new FakeEngine();
    engine.runs = [run()];
    const w = worker({ running: [{ runId: 'r1', taskId: 't3', jobId: 'j1', startedAt: NOW - 10_000 }] });
    const item = workerItem(w, NOW, engineTaskTitle(engine));
    assert.equal(item.label, 'build-box-1');
    assert.equal(item.description, 'build-box · Add rate limiting to the API (t3) · ♥ 2 s ago · aider, claude');
    assert.match(item.tooltip ?? '', /^Worker build-box-1 on build-box \(pid 4242\)\nRunning: Add rate limiting to the API \(t3\)\nLast heartbeat: 2 s ago\nAgents: aider, claude\n/);
    assert.equal(item.icon?.id, 'sync~spin');
    assert.equal(item.id, 'worker/build-box-1', 'stable across polls');
    // The same worker one poll later: only the clock moved.
    assert.match(workerItem(w, NOW + 3000, engineTaskTitle(engine)).description ?? '', /♥ 5 s ago/);
  });

  it('names a task of another store by run and task, a check by its commit, and an idle worker as idle', () => {
    const w = worker({ running: [{ runId: 'r9', taskId: 't1', jobId: 'j', startedAt: NOW }, { runId: 'check', taskId: 'abcdef012345', jobId: 'k', startedAt: NOW }], checks: true });
    assert.match(workerItem(w, NOW).description ?? '', /· r9\/t1, check of abcdef012345 ·/);
    assert.match(workerItem(w, NOW).tooltip ?? '', /and the merge queue's checks/);
    const idle = workerItem(worker(), NOW);
    assert.match(idle.description ?? '', /^build-box · idle · /);
    assert.equal(idle.icon?.id, 'vm');
  });

  it('marks a worker whose heartbeat is late', () => {
    const late = workerItem(worker({ heartbeatAt: NOW - LATE_HEARTBEAT_MS - 1000 }), NOW);
    assert.equal(late.icon?.id, 'warning');
    assert.match(late.contextValue, /\blate\b/);
    assert.match(late.tooltip ?? '', /Last heartbeat: 7 s ago \(late/);
    assert.doesNotMatch(workerItem(worker(), NOW).contextValue, /\blate\b/);
  });

  it('formats relative times from the clock given', () => {
    assert.equal(formatAgo(NOW, NOW), 'just now');
    assert.equal(formatAgo(NOW + 5000, NOW), 'just now', 'a clock skewed between machines never shows a negative time');
    assert.equal(formatAgo(NOW - 59_000, NOW), '59 s ago');
    assert.equal(formatAgo(NOW - 125_000, NOW), '2 min ago');
    assert.equal(formatAgo(NOW - 2 * 3_600_000, NOW), '2 h ago');
  });

  it('lists what the engine returns, one row per worker, in the engine\'s order', async () => {
    const engine = new FakeEngine();
    engine.workers = [worker({ name: 'a' }), worker({ name: 'b' })];
    const model = new WorkersModel();
    const state = await model.load(engine);
    assert.deepEqual(workerRows(state, NOW).map((r) => r.label), ['a', 'b']);
    assert.deepEqual(engine.calls, ['listWorkers()']);
    engine.workers = [];
    const [empty] = workerRows(await model.load(engine), NOW);
    assert.match(empty.label, /^No worker is connected: start one with "hyperion worker/);
    assert.equal(empty.contextValue, 'message');
  });

  it('shows a Redis error as one message row with its sentence, not a rejection', async () => {
    const engine = new FakeEngine();
    engine.workersError = new EngineError('distributed/unreachable', 'Redis at redis://:***@10.0.0.9:6379 could not be reached: connect ECONNREFUSED 10.0.0.9:6379');
    const model = new WorkersModel();
    const rows = workerRows(await model.load(engine), NOW);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].label, 'Could not list the workers: Redis at redis://:***@10.0.0.9:6379 could not be reached: connect ECONNREFUSED 10.0.0.9:6379');
    assert.equal(rows[0].icon?.id, 'error');
    assert.equal(rows[0].command, undefined);

    engine.workersError = new EngineError('distributed/auth', 'Redis at redis://:***@10.0.0.9:6379 refused the credentials (WRONGPASS invalid username-password pair or user is disabled): give the password as redis://:PASSWORD@host:port');
    const [auth] = workerRows(await model.load(engine), NOW);
    assert.match(auth.label, /^Redis refused the password or user: set the password with "Hyperion: Set Redis Password"/);
    assert.deepEqual(auth.command, { command: COMMANDS.setRedisPassword, title: 'Set Redis Password', args: [] });

    engine.workersError = new Error('socket hang up\n    at stack');
    assert.equal(workerRows(await model.load(engine), NOW)[0].label, 'Could not list the workers: socket hang up');

    engine.workersError = undefined;
    engine.workers = [worker()];
    assert.equal(workerRows(await model.load(engine), NOW)[0].label, 'build-box-1', 'the next listing clears the error');
  });

  it('shows a settings problem as a message row, and nothing before the engine answered', () => {
    assert.deepEqual(workerRows({ kind: 'none' }, NOW), []);
    const [row] = workerRows({ kind: 'problem', text: 'hyperion.distributed.redisUrl contains a password: …' }, NOW);
    assert.equal(row.label, 'hyperion.distributed.redisUrl contains a password: …');
    assert.equal(row.icon?.id, 'warning');
  });

  it('shares one listing between a poll tick and an event that come while Redis is slow', async () => {
    const engine = new FakeEngine();
    engine.workers = [worker()];
    let open!: () => void;
    engine.workersGate = new Promise((r) => { open = r; });
    const model = new WorkersModel();
    const a = model.load(engine);
    const b = model.load(engine);
    assert.equal(a, b);
    assert.deepEqual(model.state, { kind: 'none' });
    open();
    await a;
    assert.deepEqual(engine.calls, ['listWorkers()']);
    assert.equal(model.state.kind, 'workers');
    engine.workersGate = undefined;
    await model.load(engine);
    assert.deepEqual(engine.calls, ['listWorkers()', 'listWorkers()'], 'a later load asks again');
  });
});

describe('Workers listing in bursts of engine events', () => {
  it('reuses a listing younger than the given age, by the clock passed in, and asks again after it', async () => {
    const engine = new FakeEngine();
    engine.workers = [worker()];
    const model = new WorkersModel();
    await model.load(engine, { now: NOW, maxAgeMs: 1000 });
    engine.workers = [worker(), worker({ name: 'build-box-2' })];
    assert.equal(workerRows(await model.load(engine, { now: NOW + 999, maxAgeMs: 1000 }), NOW).length, 1, 'an event burst shares the listing');
    assert.equal(workerRows(await model.load(engine, { now: NOW + 1000, maxAgeMs: 1000 }), NOW).length, 2);
    assert.equal(workerRows(await model.load(engine), NOW).length, 2, 'a poll or Refresh always asks');
    assert.equal(engine.calls.length, 3);
  });
});

describe('Workers poll', () => {
  it('refreshes on a timer only while the view is visible and workers are configured, and stops on dispose', () => {
    const timers = manualTimers();
    let refreshes = 0;
    const poll = new WorkersPoll({ refresh: () => { refreshes += 1; }, timers, everyMs: 5000 });
    poll.setVisible(true);
    assert.equal(poll.running, false, 'not configured: no timer');
    poll.setEnabled(true);
    assert.equal(poll.running, true);
    assert.equal(refreshes, 1, 'fresh heartbeats as soon as it shows');
    timers.tick();
    timers.tick();
    assert.equal(refreshes, 3);
    poll.setVisible(false);
    assert.equal(timers.live.size, 0, 'a hidden view polls nothing');
    timers.tick();
    assert.equal(refreshes, 3);
    poll.setVisible(true);
    poll.setVisible(true);
    assert.equal(timers.live.size, 1, 'one timer however often it is shown');
    poll.dispose();
    assert.equal(timers.live.size, 0, 'dispose clears the timer');
    poll.setVisible(true);
    poll.setEnabled(true);
    assert.equal(timers.live.size, 0, 'nothing starts after dispose');
  });
});

describe('Workers view in the manifest', () => {
  const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '../..', 'package.json'), 'utf8'));

  it('is a tree in the Hyperion sidebar that shows only when distributed mode is configured', () => {
    const view = pkg.contributes.views[VIEWS.container].find((v: { id: string }) => v.id === VIEWS.workers);
    assert.ok(view, 'declared');
    assert.equal(view.name, 'Workers');
    assert.equal(view.type, undefined, 'a tree, not a webview');
    assert.equal(view.when, CONTEXT_KEYS.distributed);
    const title = pkg.contributes.menus['view/title'] as Array<{ command: string; when: string }>;
    for (const c of [COMMANDS.refreshWorkers, COMMANDS.setRedisPassword]) assert.ok(title.some((e) => e.command === c && e.when === `view == ${VIEWS.workers}`), c);
  });
});
