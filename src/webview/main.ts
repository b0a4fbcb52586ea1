import { z } from 'zod';
import { FromWebview, ToWebview, type GraphModel, type RunChoice } from '../protocol/messages';
import type { DomDocument, DomNode } from './dom';
import { el } from './dom';
import { graphScale, renderDraftNotes, renderGraph, renderSummary } from './render';
import { countBadge, progressRing, registerToolkit, runPicker } from './ui/toolkit';

/**
 * The graph webview. It keeps no state but the last message and the zoom (UI state): the
 * host owns the data and sends full snapshots. Every message in is checked with
 * `ToWebview`, every message out with `FromWebview`; invalid input is reported to the
 * console and ignored. It reports its width so the host can lay the graph out top to
 * bottom in a narrow sidebar, and scales the drawing to fit unless the user zooms.
 */
declare function acquireVsCodeApi(): { postMessage(msg: unknown): void };

// zod probes `new Function` for its fast path; our CSP forbids eval, so say so up front
// instead of logging a CSP violation on every load.
z.config({ jitless: true });

const vscode = acquireVsCodeApi();
const doc = document as unknown as DomDocument;

function send(msg: FromWebview): void {
  vscode.postMessage(FromWebview.parse(msg));
}

function byId(id: string): DomNode {
  const found = document.getElementById(id);
  if (!found) throw new Error(`missing #${id} in the webview page`);
  return found as unknown as DomNode;
}

registerToolkit();
const header = byId('header');
const summary = byId('summary');
const canvas = byId('canvas');
header.replaceChildren(progressRing(doc));

let zoom: number | 'fit' = 'fit';
/** Link mode of a draft: the next two task clicks draw a dependency (UI state only). */
let linking = false;
let linkFrom: string | undefined;
let last: { graph: GraphModel; runs: RunChoice[] } | undefined;

function button(label: string, title: string, onClick: () => void): DomNode {
  const b = el(doc, 'button', { class: 'tool', title, 'aria-label': title, type: 'button' }, label);
  b.addEventListener('click', onClick);
  return b;
}

function availableWidth(): number {
  return Math.max(0, window.innerWidth - 14);
}

/** The canvas's room below the header and summary (it scrolls past `max-height`). */
function availableHeight(): number {
  return Math.max(0, window.innerHeight - 110);
}

function draw(): void {
  if (!last) return;
  const { graph, runs } = last;
  const runId = graph.runId;
  const waiting = graph.nodes.filter((n) => n.status === 'proposed').length;
  const scale = graphScale(graph.width, availableWidth(), zoom, graph.direction === 'down' ? undefined : { graph: graph.height, available: availableHeight() });
  const setZoom = (z: number | 'fit') => { zoom = z; draw(); };
  header.replaceChildren(
    runPicker(doc, runs, runId, (id) => send({ type: 'run/select', runId: id })),
    countBadge(doc, waiting, `${waiting} waiting for review`),
  );
  const tools = el(doc, 'div', { class: 'tools', role: 'toolbar', 'aria-label': 'Graph view' });
  tools.appendChild(button('−', 'Zoom out', () => setZoom(Math.max(0.1, scale / 1.25))));
  tools.appendChild(button(zoom === 'fit' ? 'Fit ✓' : 'Fit', 'Fit the graph to the view', () => setZoom('fit')));
  tools.appendChild(button('+', 'Zoom in', () => setZoom(Math.min(4, scale * 1.25))));
  tools.appendChild(button('⤢', 'Open Graph in Editor', () => send({ type: 'graph/openEditor' })));
  renderSummary(doc, summary, graph);
  summary.appendChild(tools);
  if (!graph.draft) {
    linking = false;
    linkFrom = undefined;
    renderGraph(doc, canvas, graph, (taskId) => send({ type: 'node/open', runId, taskId }), scale);
    return;
  }
  const drafting = el(doc, 'div', { class: 'tools draft-tools', role: 'toolbar', 'aria-label': 'Draft plan' });
  const start = drafting.appendChild(button('▶ Start Run', graph.draft.errors.length > 0 ? 'Fix the errors first' : 'Start Run', () => send({ type: 'draft/start', runId })));
  start.setAttribute('class', 'tool primary');
  if (graph.draft.errors.length > 0) start.setAttribute('disabled', '');
  drafting.appendChild(button('+ Task', 'Add Task', () => send({ type: 'draft/addTask', runId })));
  const link = drafting.appendChild(button(linking ? 'Link ✓' : 'Link', 'Draw a dependency', () => { linking = !linking; linkFrom = undefined; draw(); }));
  link.setAttribute('aria-pressed', String(linking));
  summary.appendChild(drafting);
  const notes = summary.appendChild(el(doc, 'div', { class: 'draft-notes' }));
  renderDraftNotes(doc, notes, graph, linking, linkFrom);
  const onNode = (taskId: string) => {
    if (!linking) return send({ type: 'draft/editTask', runId, taskId });
    if (linkFrom === undefined || linkFrom === taskId) {
      linkFrom = linkFrom === taskId ? undefined : taskId;
      return draw();
    }
    send({ type: 'draft/link', runId, from: linkFrom, to: taskId });
    linking = false;
    linkFrom = undefined;
    draw();
  };
  renderGraph(doc, canvas, graph, onNode, scale, { onEdge: (from, to) => send({ type: 'draft/unlink', runId, from, to }), linkFrom });
}

window.addEventListener('message', (event: MessageEvent) => {
  const parsed = ToWebview.safeParse(event.data);
  if (!parsed.success) {
    // Not console.log in src/ for the host; in the webview the console is the only log.
    console.warn('hyperion: ignored an invalid message', parsed.error.issues);
    return;
  }
  const msg = parsed.data;
  if (msg.type === 'graph/empty') {
    last = undefined;
    header.replaceChildren();
    summary.replaceChildren();
    canvas.replaceChildren(el(doc, 'p', { class: 'empty' }, msg.reason));
    return;
  }
  last = { graph: msg.graph, runs: msg.runs };
  draw();
});

let lastWidth = -1;
function reportSize(): void {
  const w = Math.round(window.innerWidth);
  if (w === lastWidth) return;
  lastWidth = w;
  send({ type: 'view/size', width: w });
  draw();
}
window.addEventListener('resize', reportSize);

// Only now is the listener in place: the host holds its messages until it sees this.
send({ type: 'webview/ready' });
reportSize();
