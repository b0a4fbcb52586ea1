import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { RunView, TaskStatus, TaskView } from '../../src/engine/api';
import { ToWebview } from '../../src/protocol/messages';
import { formatTranscript, parseTranscriptPath, taskAgentView, transcriptPath } from '../../src/extension/viewmodel/agents';
import { DEFAULT_LAYOUT, layoutGraph } from '../../src/extension/viewmodel/graph';
import { taskItem } from '../../src/extension/viewmodel/runs';
import type { DomDocument, DomNode } from '../../src/webview/dom';
import { renderGraph } from '../../src/webview/render';

const HOSTILE = '<img src=x onerror=alert(1)>';

function task(id: string, status: TaskStatus, extra: Partial<TaskView> = {}): TaskView {
  return { id, title: `Task ${id}`, type: 'code_gen', prompt: 'p', acceptanceCriteria: [], dependsOn: [], files: [], runId: 'r1', status, attempts: 1, costUsd: 0, ...extra };
}

describe('what a task\'s row says about its agent, as the engine reports it', () => {
  it('names the engine\'s agent, and while the task runs, what it does on one line', () => {
    assert.deepEqual(taskAgentView(task('a', 'pending', { agent: 'claude' })), { agent: 'claude' });
    assert.deepEqual(taskAgentView(task('a', 'running', { agent: 'claude', activity: 'editing\nsrc/a.ts' })), { agent: 'claude', activity: 'editing src/a.ts' });
    assert.deepEqual(taskAgentView(task('a', 'proposed', { agent: 'claude', activity: 'stale' })), { agent: 'claude' }, 'nothing once it stopped running');
    assert.deepEqual(taskAgentView(task('a', 'merged')), {}, 'the built-in developer');
    assert.ok(taskAgentView(task('a', 'running', { activity: 'x'.repeat(500) })).activity!.length <= 100, 'a long activity is cut; the transcript has it all');
  });

  it('shows the agent and its activity in the task\'s row, and offers the transcript once the agent started', () => {
    const running = task('t1', 'running', { dependsOn: ['t0'], agent: 'claude', activity: 'editing src/a.ts' });
    const row = taskItem(running, undefined, taskAgentView(running));
    assert.equal(row.label, '[claude] Task t1');
    assert.equal(row.description, 'editing src/a.ts · t1 · running · after t0');
    assert.match(row.tooltip ?? '', /^Agent: claude$/m);
    assert.match(row.tooltip ?? '', /^Now: editing src\/a\.ts$/m);
    assert.match(row.contextValue, /\btranscript\b/);
    const pending = task('t2', 'pending', { agent: 'claude' });
    const waiting = taskItem(pending, undefined, taskAgentView(pending));
    assert.equal(waiting.label, '[claude] Task t2');
    assert.equal(waiting.description, 't2 · pending');
    assert.doesNotMatch(waiting.contextValue, /\btranscript\b/, 'no transcript before the agent starts');
    const merged = task('t3', 'merged', { agent: 'claude' });
    assert.equal(taskItem(merged, undefined, taskAgentView(merged)).label, '[claude] Task t3');
    const builtIn = taskItem(task('t4', 'merged', { type: 'docs' }), undefined, taskAgentView(task('t4', 'merged', { type: 'docs' })));
    assert.equal(builtIn.label, 'Task t4');
    assert.doesNotMatch(builtIn.contextValue, /\btranscript\b/);

    const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '../..', 'package.json'), 'utf8'));
    const menu = (pkg.contributes.menus['view/item/context'] as Array<{ command: string; when: string }>).find((m) => m.command === 'hyperion.showTranscript');
    assert.ok(menu && /view == hyperion\.runs/.test(menu.when), 'Show Transcript on task rows');
    assert.ok(new RegExp(menu.when.match(/viewItem =~ \/(.*)\/$/)![1]).test(row.contextValue));
  });
});

/** A DOM stand-in without any markup-parsing method: text can only arrive through textContent. */
class FakeNode implements DomNode {
  children: FakeNode[] = [];
  attrs = new Map<string, string>();
  private text: string | null = null;
  constructor(readonly tag: string) {}
  get textContent(): string | null { return this.children.length > 0 ? this.children.map((c) => c.textContent ?? '').join('') : this.text; }
  set textContent(v: string | null) { this.children = []; this.text = v; }
  set innerHTML(_v: string) { throw new Error('innerHTML used'); }
  setAttribute(n: string, v: string) { this.attrs.set(n, v); }
  appendChild<T extends DomNode>(c: T): T { this.children.push(c as unknown as FakeNode); return c; }
  addEventListener() {}
  replaceChildren(...nodes: DomNode[]) { this.children = nodes as FakeNode[]; this.text = null; }
  all(): FakeNode[] { return [this, ...this.children.flatMap((c) => c.all())]; }
}
const doc: DomDocument = { createElement: (t) => new FakeNode(t), createElementNS: (_ns, t) => new FakeNode(t) };

describe('the graph names each task\'s agent', () => {
  const run: RunView = { id: 'r1', goal: 'g', status: 'running', costUsd: 0, createdAt: 0, tasks: [task('t1', 'running'), task('t2', 'pending', { type: 'docs', dependsOn: ['t1'] })] };
  const agentOf = (t: TaskView) => (t.id === 't1' ? { agent: 'claude', activity: `editing ${HOSTILE}` } : {});

  it('sends the agent and activity with each node, in taller boxes, and draws them as text only', () => {
    const graph = layoutGraph(run, undefined, 'right', undefined, undefined, agentOf);
    assert.ok(ToWebview.safeParse({ type: 'graph/show', graph, runs: [] }).success);
    const [t1, t2] = graph.nodes;
    assert.equal(t1.agent, 'claude');
    assert.equal(t1.activity, `editing ${HOSTILE}`);
    assert.equal(t2.agent, undefined);
    assert.equal(t1.height, DEFAULT_LAYOUT.nodeHeight + 16);
    assert.equal(layoutGraph(run).nodes[0].height, DEFAULT_LAYOUT.nodeHeight, 'no agents, no extra line');

    const root = new FakeNode('div');
    renderGraph(doc, root, graph, () => {});
    const agentLines = root.all().filter((n) => n.attrs.get('class') === 'agent').map((n) => n.textContent);
    assert.equal(agentLines.length, 1);
    assert.match(agentLines[0] ?? '', /^claude: editing <i/);
    const tip = root.all().find((n) => n.tag === 'title')?.textContent ?? '';
    assert.match(tip, /\nAgent: claude\nNow: editing <img src=x onerror=alert\(1\)>$/);
    assert.ok(!root.all().some((n) => n.tag === 'img'));
  });
});

describe('the transcript document', () => {
  it('round-trips its path and says plainly when no transcript is stored', () => {
    assert.deepEqual(parseTranscriptPath(transcriptPath('r/1', 't 1')), { runId: 'r/1', taskId: 't 1' });
    assert.equal(parseTranscriptPath('/r1/check-output.log'), undefined);
    const t = { runId: 'r1', id: 't1', title: 'Add\na note' };
    assert.equal(formatTranscript(t, 'claude', '{"type":"result"}'), '# Transcript of the agent "claude" for "Add a note" — task t1 of run r1\n\n{"type":"result"}\n');
    assert.match(formatTranscript(t, undefined, undefined), /No transcript is stored for this task/);
  });
});
