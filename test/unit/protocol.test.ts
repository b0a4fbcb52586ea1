import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Logger } from '../../src/engine/ports';
import { WebviewChannel } from '../../src/extension/webviewChannel';
import { FromWebview, ToWebview, type GraphModel } from '../../src/protocol/messages';

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, trace() {}, debug() {}, info() {}, error() {}, warn: (m) => { warnings.push(m); } };
}

const graph: GraphModel = {
  runId: 'r1', goal: 'g', runStatus: 'running', costUsd: 0, width: 200, height: 80, criticalPath: ['a'],
  nodes: [{ id: 'a', title: 'A', status: 'running', type: 'code_gen', level: 0, x: 12, y: 12, width: 170, height: 46, critical: true, costUsd: 0, hasChange: false }],
  edges: [],
};

function setup() {
  const posted: unknown[] = [];
  const calls: string[] = [];
  const log = recordingLogger();
  const ch = new WebviewChannel((m) => { posted.push(m); }, {
    ready: () => calls.push('ready'),
    openNode: (r, t) => calls.push(`open ${r} ${t}`),
    selectRun: (r) => calls.push(`select ${r}`),
    resize: (w) => calls.push(`resize ${w}`),
    openInEditor: () => calls.push('editor'),
  }, log);
  return { ch, posted, calls, log };
}

describe('webview protocol schemas', () => {
  it('accepts the messages each side sends', () => {
    assert.ok(FromWebview.safeParse({ type: 'webview/ready' }).success);
    assert.ok(FromWebview.safeParse({ type: 'node/open', runId: 'r', taskId: 't' }).success);
    assert.ok(ToWebview.safeParse({ type: 'graph/show', graph, runs: [{ id: 'r1', label: 'x' }] }).success);
    assert.ok(ToWebview.safeParse({ type: 'graph/empty', reason: 'none' }).success);
  });

  it('rejects unknown types, missing fields, wrong types and non-finite positions', () => {
    assert.ok(!FromWebview.safeParse({ type: 'change/approve', changeId: 'c' }).success);
    assert.ok(!FromWebview.safeParse({ type: 'node/open', runId: 'r' }).success);
    assert.ok(!FromWebview.safeParse({ type: 'node/open', runId: 'r', taskId: 5 }).success);
    assert.ok(!FromWebview.safeParse('webview/ready').success);
    assert.ok(!ToWebview.safeParse({ type: 'graph/show', graph: { ...graph, nodes: [{ ...graph.nodes[0], x: Number.NaN }] }, runs: [] }).success);
    assert.ok(!ToWebview.safeParse({ type: 'graph/show', graph: { ...graph, nodes: [{ ...graph.nodes[0], status: 'exploded' }] }, runs: [] }).success);
  });
});

describe('webview channel (host end)', () => {
  it('holds the latest snapshot until webview/ready, then posts only that one', () => {
    const { ch, posted, calls } = setup();
    ch.send({ type: 'graph/empty', reason: 'old' });
    ch.send({ type: 'graph/show', graph, runs: [] });
    assert.equal(posted.length, 0);
    assert.equal(ch.receive({ type: 'webview/ready' }), true);
    assert.deepEqual(calls, ['ready']);
    assert.equal(posted.length, 1);
    assert.equal((posted[0] as { type: string }).type, 'graph/show');
    ch.send({ type: 'graph/empty', reason: 'now' });
    assert.equal(posted.length, 2);
  });

  it('routes valid webview messages to their handlers', () => {
    const { ch, calls } = setup();
    ch.receive({ type: 'node/open', runId: 'r1', taskId: 't2' });
    ch.receive({ type: 'run/select', runId: 'r2' });
    ch.receive({ type: 'view/size', width: 300 });
    ch.receive({ type: 'graph/openEditor' });
    assert.deepEqual(calls, ['open r1 t2', 'select r2', 'resize 300', 'editor']);
    assert.equal(ch.receive({ type: 'view/size', width: -1 }), false, 'a negative width is refused');
  });

  it('drops and logs invalid webview messages without calling any handler or throwing', () => {
    const { ch, calls, log } = setup();
    for (const bad of [null, 42, 'x', {}, { type: 'node/open' }, { type: 'node/open', runId: '', taskId: 't' }, { type: 'eval', code: 'alert(1)' }]) {
      assert.equal(ch.receive(bad), false);
    }
    assert.deepEqual(calls, []);
    assert.equal(log.warnings.length, 7);
  });

  it('refuses to post a message that breaks the schema (a host bug shows at the sender)', () => {
    const { ch, posted } = setup();
    ch.receive({ type: 'webview/ready' });
    assert.throws(() => ch.send({ type: 'graph/empty', reason: 5 } as never));
    assert.equal(posted.length, 0);
  });

  it('waits for a new handshake after the webview reloads', () => {
    const { ch, posted } = setup();
    ch.receive({ type: 'webview/ready' });
    ch.reset();
    ch.send({ type: 'graph/empty', reason: 'hidden' });
    assert.equal(posted.length, 0);
    ch.receive({ type: 'webview/ready' });
    assert.equal(posted.length, 1);
  });
});
