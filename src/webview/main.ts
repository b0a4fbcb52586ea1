import { z } from 'zod';
import { FromWebview, ToWebview } from '../protocol/messages';
import type { DomDocument, DomNode } from './dom';
import { el } from './dom';
import { renderGraph, renderSummary } from './render';
import { countBadge, progressRing, registerToolkit, runPicker } from './ui/toolkit';

/**
 * The graph webview. It keeps no state but the last message: the host owns the data and
 * sends full snapshots. Every message in is checked with `ToWebview`, every message out
 * with `FromWebview`; invalid input is reported to the console and ignored.
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

window.addEventListener('message', (event: MessageEvent) => {
  const parsed = ToWebview.safeParse(event.data);
  if (!parsed.success) {
    // Not console.log in src/ for the host; in the webview the console is the only log.
    console.warn('hyperion: ignored an invalid message', parsed.error.issues);
    return;
  }
  const msg = parsed.data;
  if (msg.type === 'graph/empty') {
    header.replaceChildren();
    summary.replaceChildren();
    canvas.replaceChildren(el(doc, 'p', { class: 'empty' }, msg.reason));
    return;
  }
  const { graph, runs } = msg;
  const runId = graph.runId;
  const waiting = graph.nodes.filter((n) => n.status === 'proposed').length;
  header.replaceChildren(
    runPicker(doc, runs, runId, (id) => send({ type: 'run/select', runId: id })),
    countBadge(doc, waiting, `${waiting} waiting for review`),
  );
  renderSummary(doc, summary, graph);
  renderGraph(doc, canvas, graph, (taskId) => send({ type: 'node/open', runId, taskId }));
});

// Only now is the listener in place: the host holds its messages until it sees this.
send({ type: 'webview/ready' });
