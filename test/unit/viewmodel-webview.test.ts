import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { RunView, TaskView } from '../../src/engine/api';
import { layoutGraph } from '../../src/extension/viewmodel/graph';
import type { DomDocument, DomNode } from '../../src/webview/dom';
import { directionFor, layoutGraph as layout } from '../../src/extension/viewmodel/graph';
import { fitLabel, graphScale, renderGraph, renderSummary } from '../../src/webview/render';

/**
 * A DOM stand-in with only what the renderers may use. Any markup-parsing API throws, so a
 * renderer that reaches for innerHTML fails the test instead of silently passing.
 */
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
  insertAdjacentHTML(): void { throw new Error('insertAdjacentHTML used'); }
  setAttribute(n: string, v: string) { this.attrs.set(n, v); }
  appendChild<T extends DomNode>(c: T): T { this.children.push(c as unknown as FakeNode); return c; }
  addEventListener(t: string, l: (ev: { key?: string }) => void) { (this.listeners.get(t) ?? this.listeners.set(t, []).get(t)!).push(l); }
  replaceChildren(...nodes: DomNode[]) { this.children = nodes as FakeNode[]; this.text = null; }
  all(): FakeNode[] { return [this, ...this.children.flatMap((c) => c.all())]; }
}
const doc: DomDocument = { createElement: (t) => new FakeNode(t), createElementNS: (_ns, t) => new FakeNode(t) };

const HOSTILE = '<img src=x onerror=alert(1)>';

function run(titles: string[]): RunView {
  const tasks: TaskView[] = titles.map((title, i) => ({
    id: `t${i}`, title, type: 'code_gen', prompt: 'p', acceptanceCriteria: [], dependsOn: i === 0 ? [] : [`t${i - 1}`], files: [],
    runId: 'r1', status: i === 0 ? 'merged' : 'proposed', attempts: 1, costUsd: 0.01, changeId: `c${i}`,
  }));
  return { id: 'r1', goal: `Goal ${HOSTILE}`, status: 'running', costUsd: 0.02, createdAt: 0, tasks };
}

describe('graph webview rendering', () => {
  it('shows a hostile task title as literal characters through textContent', () => {
    const root = new FakeNode('div');
    renderGraph(doc, root, layoutGraph(run([HOSTILE, 'second'])), () => {});
    const texts = root.all().filter((n) => n.tag === 'text' || n.tag === 'title').map((n) => n.textContent ?? '');
    assert.ok(texts.some((t) => t.includes(HOSTILE)), 'the title characters are shown');
    assert.ok(!root.all().some((n) => n.tag === 'img'), 'no element was created from the title');
    for (const n of root.all()) for (const [k] of n.attrs) assert.doesNotMatch(k, /^on/i, 'no event-handler attribute');
  });

  it('shows a hostile goal as text in the summary', () => {
    const root = new FakeNode('div');
    renderSummary(doc, root, layoutGraph(run(['a'])));
    assert.equal(root.children[0].textContent, `Goal ${HOSTILE}`);
  });

  it('draws one box per task, one arrow per dependency, colours by status and marks the critical path', () => {
    const root = new FakeNode('div');
    renderGraph(doc, root, layoutGraph(run(['a', 'b', 'c'])), () => {});
    const nodes = root.all().filter((n) => n.attrs.get('class')?.startsWith('node '));
    assert.equal(nodes.length, 3);
    assert.match(nodes[0].attrs.get('class')!, /status-merged/);
    assert.match(nodes[1].attrs.get('class')!, /status-proposed critical/);
    const edges = root.all().filter((n) => /^edge( critical)?$/.test(n.attrs.get('class') ?? ''));
    assert.equal(edges.length, 2);
    assert.ok(edges.every((e) => e.attrs.get('class') === 'edge critical'));
  });

  it('reports the task id when a node is clicked or activated with Enter', () => {
    const root = new FakeNode('div');
    const opened: string[] = [];
    renderGraph(doc, root, layoutGraph(run(['a', 'b'])), (id) => opened.push(id));
    const node = root.all().find((n) => n.attrs.get('data-task-id') === 't1')!;
    node.listeners.get('click')![0]({});
    node.listeners.get('keydown')![0]({ key: 'Enter', preventDefault() {} });
    node.listeners.get('keydown')![0]({ key: 'a' });
    assert.deepEqual(opened, ['t1', 't1']);
  });

  it('cuts long labels with an ellipsis', () => {
    assert.equal(fitLabel('abcdefghij', 5), 'abcd…');
    assert.equal(fitLabel('  a \n b ', 5), 'a b');
  });

  it('has no markup-parsing API anywhere in the webview sources', () => {
    const dir = path.resolve(__dirname, '../../src/webview');
    const files: string[] = [];
    const walk = (d: string) => { for (const f of readdirSync(d)) { const p = path.join(d, f); if (statSync(p).isDirectory()) walk(p); else files.push(p); } };
    walk(dir);
    for (const f of files) {
      const src = readFileSync(f, 'utf8');
      assert.doesNotMatch(src, /\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|createContextualFragment|DOMParser/, f);
    }
  });

  it('keeps every toolkit import inside src/webview/ui/', () => {
    const dir = path.resolve(__dirname, '../../src');
    const walk = (d: string): string[] => readdirSync(d).flatMap((f) => { const p = path.join(d, f); return statSync(p).isDirectory() ? walk(p) : [p]; });
    for (const f of walk(dir)) {
      if (f.includes(`${path.sep}webview${path.sep}ui${path.sep}`)) continue;
      assert.doesNotMatch(readFileSync(f, 'utf8'), /@vscode\/webview-ui-toolkit/, f);
    }
  });
});

describe('graph at the sidebar width (E)', () => {
  it('lays the graph out top to bottom in a ~300 px sidebar, left to right in an editor', () => {
    assert.equal(directionFor(300), 'down');
    assert.equal(directionFor(1200), 'right');
    assert.equal(directionFor(undefined), 'right');
    const chain = run(['a', 'b', 'c', 'd']);
    const wide = layout(chain, undefined, 'right');
    const tall = layout(chain, undefined, 'down');
    assert.ok(wide.width > 600, `a 4-task chain is ${wide.width} px wide left to right`);
    assert.ok(tall.width <= 300, `top to bottom it fits 300 px: ${tall.width}`);
    assert.ok(tall.height > tall.width);
    const xs = new Set(tall.nodes.map((n) => n.x));
    assert.equal(xs.size, 1, 'a chain is one column');
  });

  it('scales a wide drawing down to fit, never up, and lets the user zoom', () => {
    assert.equal(graphScale(900, 300, 'fit'), 300 / 900);
    assert.equal(graphScale(200, 300, 'fit'), 1);
    assert.equal(graphScale(900, 300, 2), 2);
    assert.equal(graphScale(900, 300, 1000), 4);
    assert.equal(graphScale(600, 1200, 'fit', { graph: 2000, available: 500 }), 0.25, 'a tall left-to-right graph fits its height too');
    assert.equal(graphScale(600, 1200, 2, { graph: 2000, available: 500 }), 2, 'a zoom is the zoom');
    const root = new FakeNode('div');
    const g = layout(run(['a', 'b', 'c', 'd']), undefined, 'right');
    renderGraph(doc, root, g, () => {}, 0.5);
    const svgEl = root.children[0];
    assert.equal(svgEl.attrs.get('width'), String(Math.round(g.width / 2)));
    assert.equal(svgEl.attrs.get('viewBox'), `0 0 ${g.width} ${g.height}`, 'the drawing keeps its coordinates');
  });

  it('draws edges from the bottom of a box to the top of the next when the graph runs down', () => {
    const root = new FakeNode('div');
    const g = layout(run(['a', 'b']), undefined, 'down');
    renderGraph(doc, root, g, () => {});
    const edge = root.all().find((n) => /^edge( critical)?$/.test(n.attrs.get('class') ?? ''))!;
    const [a, b] = g.nodes;
    assert.match(edge.attrs.get('d')!, new RegExp(`^M ${a.x + a.width / 2} ${a.y + a.height} `));
    assert.ok(b.y > a.y + a.height);
  });
});

describe('cost of unpriced models (E)', () => {
  it('shows "—" for a model without a price, not "$0.00"', () => {
    const r = run(['a', 'b']);
    r.costUsd = 0;
    for (const t of r.tasks) { t.costUsd = 0; t.route = { provider: 'openai-compatible', model: 'llama3.1' }; }
    const unpriced = layout(r, undefined, 'right', {});
    assert.equal(unpriced.costKnown, false);
    const root = new FakeNode('div');
    renderSummary(doc, root, unpriced);
    assert.match(root.children[1].textContent!, /· —$/);
    const canvas = new FakeNode('div');
    renderGraph(doc, canvas, unpriced, () => {});
    assert.ok(canvas.all().some((n) => n.attrs.get('class') === 'meta' && /· —$/.test(n.textContent ?? '')), 'each box says its cost is unknown');
    const priced = layout(r, undefined, 'right', { 'openai-compatible:llama3.1': { input: 1, output: 2 } });
    const root2 = new FakeNode('div');
    renderSummary(doc, root2, priced);
    assert.match(root2.children[1].textContent!, /\$0\.00$/);
  });
});

