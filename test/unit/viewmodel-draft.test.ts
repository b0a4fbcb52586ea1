import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunView, TaskView } from '../../src/engine/api';
import { silentLogger } from '../../src/engine/ports';
import { WebviewChannel } from '../../src/extension/webviewChannel';
import { draftFields, draftNotice, fieldEdit, needsDraftReview, planReviewMode } from '../../src/extension/viewmodel/draft';
import { layoutGraph } from '../../src/extension/viewmodel/graph';
import { runItem, taskItem } from '../../src/extension/viewmodel/runs';
import { GraphModel, type DraftMessage } from '../../src/protocol/messages';
import type { DomDocument, DomNode } from '../../src/webview/dom';
import { renderDraftNotes, renderGraph } from '../../src/webview/render';

class FakeNode implements DomNode {
  children: FakeNode[] = [];
  attrs = new Map<string, string>();
  listeners = new Map<string, Array<(ev: { key?: string; preventDefault?(): void }) => void>>();
  private text: string | null = null;
  constructor(readonly tag: string) {}
  get textContent(): string | null {
    return this.children.length > 0 ? this.children.map((c) => c.textContent ?? '').join('') : this.text;
  }
  set textContent(v: string | null) {
    this.children = [];
    this.text = v;
  }
  set innerHTML(_v: string) { throw new Error('innerHTML used'); }
  setAttribute(n: string, v: string) { this.attrs.set(n, v); }
  appendChild<T extends DomNode>(c: T): T { this.children.push(c as unknown as FakeNode); return c; }
  addEventListener(t: string, l: (ev: { key?: string }) => void) { (this.listeners.get(t) ?? this.listeners.set(t, []).get(t)!).push(l); }
  replaceChildren(...nodes: DomNode[]) { this.children = nodes as FakeNode[]; this.text = null; }
  all(): FakeNode[] { return [this, ...this.children.flatMap((c) => c.all())]; }
}
const doc: DomDocument = { createElement: (t) => new FakeNode(t), createElementNS: (_ns, t) => new FakeNode(t) };

function draftRun(deps: Record<string, string[]>): RunView {
  const tasks: TaskView[] = Object.entries(deps).map(([id, dependsOn]) => ({
    id, title: `Task ${id}`, type: 'code_gen', prompt: 'p', acceptanceCriteria: [], dependsOn, files: [], runId: 'r1', status: 'pending', attempts: 0, costUsd: 0,
  }));
  return { id: 'r1', goal: 'g', status: 'draft', costUsd: 0, createdAt: 0, tasks };
}

describe('draft plans in the extension', () => {
  it('keeps a plan as a draft by the setting: always, never, or when the planner was unsure', () => {
    const sure = { questions: [], assumptions: [] };
    const unsure = { questions: [], assumptions: ['uses npm'] };
    assert.equal(planReviewMode(undefined), 'whenUnclear');
    assert.equal(planReviewMode('bogus'), 'whenUnclear');
    assert.equal(needsDraftReview('whenUnclear', sure), false);
    assert.equal(needsDraftReview('whenUnclear', unsure), true);
    assert.equal(needsDraftReview('whenUnclear', { questions: ['which db?'], assumptions: [] }), true);
    assert.equal(needsDraftReview('always', sure), true);
    assert.equal(needsDraftReview('never', unsure), false);
    assert.match(draftNotice({ tasks: [], ...unsure }, 'whenUnclear'), /made 1 assumption\(s\): uses npm/);
  });

  it('turns typed values into the edit of each field', () => {
    const fields = draftFields({ title: 'T', prompt: 'P', acceptanceCriteria: ['a', 'b'], files: ['x.ts', 'y.ts'], type: 'docs', agent: 'claude' });
    const by = Object.fromEntries(fields.map((f) => [f.key, f]));
    assert.equal(by.acceptanceCriteria.value, 'a; b');
    assert.equal(by.files.value, 'x.ts, y.ts');
    assert.deepEqual(fieldEdit(by.acceptanceCriteria, 'one, still one; two\nthree'), { acceptanceCriteria: ['one, still one', 'two', 'three'] });
    assert.deepEqual(fieldEdit(by.files, 'a.ts,\n b.ts , '), { files: ['a.ts', 'b.ts'] });
    assert.deepEqual(fieldEdit(by.agent, '  '), { agent: null }, 'an empty agent clears it');
    assert.deepEqual(fieldEdit(by.model, ' m1 '), { model: 'm1' });
    assert.deepEqual(fieldEdit(by.title, 'New title'), { title: 'New title' });
    assert.ok(by.type.choices?.includes('code_gen'));
  });

  it('draws a cycle on its edges and keeps the other tasks layered', () => {
    const run = draftRun({ a: [], b: ['a', 'c'], c: ['b'], d: ['a'] });
    const g = layoutGraph(run, undefined, 'right', undefined, { errors: ['tasks: dependency cycle b -> c -> b'], cycleEdges: [{ from: 'c', to: 'b' }, { from: 'b', to: 'c' }] });
    GraphModel.parse(g);
    assert.deepEqual(g.draft, { errors: ['tasks: dependency cycle b -> c -> b'] });
    assert.deepEqual(g.edges.filter((e) => e.cycle).map((e) => `${e.from}->${e.to}`).sort(), ['b->c', 'c->b']);
    assert.equal(g.edges.find((e) => e.from === 'a' && e.to === 'b')?.cycle, undefined);
    assert.ok(new Set(g.nodes.map((n) => n.level)).size > 1, 'not collapsed into one column');
    // A chain a → b → c closed by c → a: only the closing edge is cut, so the chain keeps its three levels.
    const chain = layoutGraph(draftRun({ a: ['c'], b: ['a'], c: ['b'] }), undefined, 'down', undefined, { errors: ['cycle'], cycleEdges: [{ from: 'c', to: 'a' }, { from: 'a', to: 'b' }, { from: 'b', to: 'c' }] });
    assert.deepEqual(chain.nodes.map((n) => `${n.id}:${n.level}`), ['a:0', 'b:1', 'c:2']);
    // The closing edge c → a runs back up beside the boxes, in room the layout left for it.
    const straight = layoutGraph(draftRun({ a: [], b: ['a'], c: ['b'] }), undefined, 'down');
    assert.equal(chain.width, straight.width + 36);
    const root = new FakeNode('div');
    renderGraph(doc, root, chain, () => {}, 1, { onEdge: () => {} });
    const back = root.all().find((n) => n.attrs.get('data-from') === 'c' && n.attrs.get('data-to') === 'a')!;
    const c = chain.nodes.find((n) => n.id === 'c')!;
    assert.ok(back.attrs.get('d')!.startsWith(`M ${c.x + c.width} `), back.attrs.get('d'));
    const maxX = Math.max(...back.attrs.get('d')!.match(/-?\d+(\.\d+)?/g)!.filter((_, i) => i % 2 === 0).map(Number));
    assert.ok(maxX <= chain.width, `the back edge stays inside the drawing (${maxX} <= ${chain.width})`);
    assert.equal(layoutGraph(draftRun({ a: [] })).draft, undefined, 'a run that is not a draft has no draft bar');
  });

  it('makes edges of a draft deletable by click or Delete, and shows errors as text only', () => {
    const run = draftRun({ a: [], b: ['a', 'c'], c: ['b'] });
    const g = layoutGraph(run, undefined, 'down', undefined, { errors: ['<b>cycle</b>'], cycleEdges: [{ from: 'c', to: 'b' }, { from: 'b', to: 'c' }] });
    const root = new FakeNode('div');
    const deleted: string[] = [];
    renderGraph(doc, root, g, () => {}, 1, { onEdge: (f, t) => deleted.push(`${f}->${t}`), linkFrom: 'a' });
    const hits = root.all().filter((n) => n.attrs.get('class') === 'edge-hit');
    assert.equal(hits.length, 3);
    assert.equal(root.all().filter((n) => n.attrs.get('class') === 'edge cycle').length, 2);
    hits.find((h) => h.attrs.get('data-from') === 'c')!.listeners.get('click')![0]({});
    hits.find((h) => h.attrs.get('data-from') === 'a')!.listeners.get('keydown')![0]({ key: 'Delete' });
    assert.deepEqual(deleted, ['c->b', 'a->b']);
    assert.ok(root.all().some((n) => /\blink-from\b/.test(n.attrs.get('class') ?? '') && n.attrs.get('data-task-id') === 'a'));
    const plain = new FakeNode('div');
    renderGraph(doc, plain, layoutGraph(draftRun({ a: [], b: ['a'] })), () => {});
    assert.equal(plain.all().filter((n) => n.attrs.get('class') === 'edge-hit').length, 0, 'a running graph has no delete targets');
    const notes = new FakeNode('div');
    renderDraftNotes(doc, notes, g, true, 'a');
    assert.equal(notes.children[1].textContent, '<b>cycle</b>');
    assert.match(notes.children[0].textContent ?? '', /waits for a/);
  });

  it('routes draft messages from the webview to the host, and drops them where drafts are not edited', () => {
    const got: DraftMessage[] = [];
    const base = { ready() {}, openNode() {}, selectRun() {}, resize() {}, openInEditor() {} };
    const ch = new WebviewChannel(() => undefined, { ...base, draft: (m) => got.push(m) }, silentLogger);
    assert.ok(ch.receive({ type: 'draft/link', runId: 'r1', from: 'a', to: 'b' }));
    assert.ok(ch.receive({ type: 'draft/start', runId: 'r1' }));
    assert.ok(!ch.receive({ type: 'draft/link', runId: 'r1', from: 'a' }), 'a link without its target is invalid');
    assert.deepEqual(got.map((m) => m.type), ['draft/link', 'draft/start']);
    assert.ok(!new WebviewChannel(() => undefined, base, silentLogger).receive({ type: 'draft/start', runId: 'r1' }));
  });

  it('offers Start Run and Add Task on a draft row, Edit and Remove on its tasks, and the summary on settled runs', () => {
    const draft = draftRun({ a: [] });
    assert.match(runItem(draft).contextValue, /\bdraft\b/);
    assert.doesNotMatch(runItem(draft).contextValue, /\bsummary\b/);
    assert.match(taskItem(draft.tasks[0], undefined, {}, true).contextValue, /\bdraftTask\b/);
    assert.doesNotMatch(taskItem(draft.tasks[0]).contextValue, /\bdraftTask\b/);
    const done = { ...draft, status: 'done' as const };
    assert.match(runItem(done).contextValue, /\bsummary\b.*\bsettled\b/);
    assert.doesNotMatch(runItem({ ...draft, status: 'running' }).contextValue, /\bsettled\b/);
  });
});
