import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RunView } from '../../src/engine/api';
import {
  faultConfig, isOneSentence, openHarness, startModel, taskLine, threeTaskPlan, within,
  type EngineHarness, type FaultRule, type ModelEndpoint, type Protocol,
} from '../support/fault-engine';
import type { CutMode } from '../support/fault-proxy';

/**
 * Provider faults through a whole run: `engine.startRun` on a 3-task plan, the real SDK over
 * HTTP to a loopback server (through a socket-tracking proxy), one fault kind per test, for
 * both wire protocols. The developer (tool calls, the default) streams its answers and the
 * reviewer does not, so the proxy cuts the developer's responses mid-SSE; streaming faults are
 * covered in more detail at the provider level by providers.test.ts.
 *
 * Note: the scheduler's attempt-level backoff (1 s doubling) has no seam through
 * `createEngine`, so tests that exhaust provider retries keep `maxRetries` at 1.
 */
const HARD = 30_000;

interface Outcome {
  view: RunView;
  model: ModelEndpoint;
  h: EngineHarness;
}

async function runWithFault(protocol: Protocol, fault: FaultRule, over: Record<string, unknown> = {}, arm?: (m: ModelEndpoint) => void): Promise<Outcome> {
  const model = await startModel(protocol, fault);
  arm?.(model);
  const h = await openHarness(faultConfig(model, over));
  try {
    const { done } = await h.engine.startRun(threeTaskPlan());
    const view = await within(HARD - 5000, done, 'the run');
    return { view, model, h };
  } catch (e) {
    await h.cleanup();
    await model.close();
    throw e;
  }
}

async function closeAll(o: Outcome): Promise<void> {
  await o.h.cleanup();
  await o.model.close();
}

function task(view: RunView, id: string) {
  const t = view.tasks.find((x) => x.id === id);
  assert.ok(t, `task ${id} exists`);
  return t;
}

/** Every task but `failing` proposed a change; `failing` failed with one clear sentence matching `why`. */
function assertOnlyFailed(o: Outcome, failing: string, why: RegExp): void {
  const { view } = o;
  const ctx = `${taskLine(view.tasks)}\nlog:\n${o.h.log.lines.join('\n')}`;
  for (const t of view.tasks) {
    if (t.id === failing) continue;
    assert.equal(t.status, 'proposed', ctx);
    assert.equal(t.error, undefined, ctx);
    assert.ok(t.changeId, ctx);
  }
  const bad = task(view, failing);
  assert.equal(bad.status, 'failed', ctx);
  assert.ok(isOneSentence(bad.error), `one sentence: ${bad.error}`);
  assert.match(bad.error!, why, ctx);
  assert.equal(bad.changeId, undefined, 'a failed task has no change');
  assert.equal(view.status, 'awaiting-review', 'the other tasks wait for review; the error names the failure');
  assert.match(view.error ?? '', new RegExp(`${failing} \\(`), 'the run names the failed task');
  if (process.env.FAULT_VERBOSE) process.stderr.write(`  ${failing}: ${bad.error}\n`);
}

function assertAllProposed(o: Outcome): void {
  const ctx = `${taskLine(o.view.tasks)}\nlog:\n${o.h.log.lines.join('\n')}`;
  assert.equal(o.view.status, 'awaiting-review', ctx);
  for (const t of o.view.tasks) {
    assert.equal(t.status, 'proposed', ctx);
    assert.equal(t.error, undefined, ctx);
  }
  assert.equal(o.h.engine.listChanges({ runId: o.view.id }).length, 3);
}

const isDev = (r: { role: string }) => r.role === 'developer';

for (const protocol of ['openai', 'anthropic'] as const) {
  describe(`${protocol}: provider faults through a whole run`, () => {
    test('waits out a burst of 429s for at least retry-after, then every task proposes', { timeout: HARD }, async () => {
      let burst = 0;
      const o = await runWithFault(protocol, (r) => (isDev(r) && r.nth === 0 && burst++ < 3 ? { type: 'error', status: 429, headers: { 'retry-after': '1' } } : undefined));
      try {
        assertAllProposed(o);
        for (const id of ['t1', 't2', 't3']) {
          const devs = o.model.requests.filter((r) => isDev(r) && r.taskId === id);
          assert.equal(devs.length, 2, `${id}: one 429 and one retry`);
          // retry-after is a floor; 900 ms leaves room for timer granularity.
          assert.ok(devs[1].at - devs[0].at >= 900, `${id} came back after ${devs[1].at - devs[0].at} ms, sooner than retry-after`);
          assert.equal(task(o.view, id).attempts, 1, 'retried inside one attempt');
        }
      } finally {
        await closeAll(o);
      }
    });

    test('retries a 500 to success, and a server that keeps failing fails only its task with a sentence', { timeout: HARD }, async () => {
      const o = await runWithFault(
        protocol,
        (r) => (isDev(r) && ((r.taskId === 't1' && r.nth === 0) || r.taskId === 't3') ? { type: 'error', status: 500 } : undefined),
        { maxRetries: 1 },
      );
      try {
        assertOnlyFailed(o, 't3', /server error \(HTTP 500\)/);
        // maxRetries 1 at both levels: 2 calls per attempt, 2 attempts.
        assert.equal(o.model.requests.filter((r) => isDev(r) && r.taskId === 't3').length, 4);
        assert.equal(task(o.view, 't3').attempts, 2);
      } finally {
        await closeAll(o);
      }
    });

    for (const mode of ['drop', 'short'] as CutMode[]) {
      const what = mode === 'drop' ? 'a connection dropped mid-body' : 'a body that ends early with a clean close';
      test(`retries ${what}, and a connection that always breaks fails only its task`, { timeout: HARD }, async () => {
        const o = await runWithFault(protocol, () => undefined, { maxRetries: 1 }, (m) => {
          m.proxy.cutNext((text) => text.includes('# Subtask t1:') && text.includes('careful software developer'), mode, 1);
          m.proxy.cutNext((text) => text.includes('# Subtask t3:') && text.includes('careful software developer'), mode, 100);
        });
        try {
          assert.ok(o.model.proxy.cuts >= 5, `responses cut: ${o.model.proxy.cuts}`);
          assertOnlyFailed(o, 't3', new RegExp(`^${protocol} closed the connection before the answer was complete$`));
          assert.equal(task(o.view, 't1').attempts, 1);
        } finally {
          await closeAll(o);
        }
      });
    }

    test('retries an HTTP body that is not JSON at all', { timeout: HARD }, async () => {
      const o = await runWithFault(protocol, (r) => (isDev(r) && r.taskId === 't2' && r.nth === 0 ? { type: 'garbage' } : undefined));
      try {
        assertAllProposed(o);
        assert.equal(o.model.requests.filter((r) => isDev(r) && r.taskId === 't2').length, 2);
      } finally {
        await closeAll(o);
      }
    });

    test('times out a response that never comes, retries it, and fails only a task whose calls always hang', { timeout: HARD }, async () => {
      const o = await runWithFault(
        protocol,
        (r) => (isDev(r) && ((r.taskId === 't2' && r.nth === 0) || r.taskId === 't3') ? { type: 'hang' } : undefined),
        { maxRetries: 1, timeoutMs: 400 },
      );
      try {
        assertOnlyFailed(o, 't3', /did not answer within 400 ms/);
        assert.equal(task(o.view, 't2').status, 'proposed');
      } finally {
        await closeAll(o);
      }
    });

    test('fails only the task whose model keeps answering with prose instead of an action', { timeout: HARD }, async () => {
      const o = await runWithFault(protocol, (r) => (isDev(r) && r.taskId === 't3' ? { type: 'reply', text: 'Sure! I would be glad to help with that.' } : undefined));
      try {
        // The tool developer tells the model to call a tool a few times before it gives up.
        assertOnlyFailed(o, 't3', /kept answering without calling a tool/);
        // A model-output failure is not retried by the scheduler: the same prompt would get the same prose.
        assert.equal(task(o.view, 't3').attempts, 1);
      } finally {
        await closeAll(o);
      }
    });

    test('keeps a change whose review call fails, with the reason in place of a verdict', { timeout: HARD }, async () => {
      const o = await runWithFault(protocol, (r) => (r.role === 'reviewer' && r.taskId === 't2' ? { type: 'error', status: 400 } : undefined));
      try {
        assertAllProposed(o);
        const c = o.h.engine.listChanges({ runId: o.view.id }).find((x) => x.taskId === 't2')!;
        assert.equal(c.reviewVerdict, undefined);
        assert.match(c.reviewComments ?? '', /review unavailable: .*HTTP 400/);
      } finally {
        await closeAll(o);
      }
    });

    test('cancelling a run stops every model call promptly', { timeout: HARD }, async () => {
      const model = await startModel(protocol, () => ({ type: 'hang' }));
      const h = await openHarness(faultConfig(model, { timeoutMs: 60_000 }));
      try {
        const { runId, done } = await h.engine.startRun(threeTaskPlan());
        const deadline = Date.now() + 10_000;
        while (model.requests.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        assert.equal(model.requests.length, 3, 'all three tasks are waiting on the model');
        assert.equal(model.proxy.openCount(), 3);
        // The claim is "within a second" on an idle machine; a loaded 2-core CI box gets 5 s, so
        // the test fails on a call that is never stopped, not on a slow scheduler.
        const t0 = Date.now();
        await within(5000, h.engine.cancelRun(runId), 'cancelRun');
        const view = await within(5000, done, 'the run after cancel');
        assert.ok(await model.proxy.waitAllClosed(Math.max(0, 5000 - (Date.now() - t0))), `sockets still open 5 s after cancel: ${model.proxy.openCount()}`);
        assert.equal(view.status, 'cancelled');
        for (const t of view.tasks) {
          assert.equal(t.status, 'cancelled', taskLine(view.tasks));
          assert.ok(isOneSentence(t.error), `cancelled task ${t.id} says why: ${t.error}`);
        }
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(model.requests.length, 3, 'no call was retried after the cancel');
      } finally {
        await h.cleanup();
        await model.close();
      }
    });
  });
}
