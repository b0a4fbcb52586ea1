import { BACK_EDGE_ROOM, type GraphModel, type GraphNode } from '../protocol/messages';
import { el, svg, type DomDocument, type DomNode } from './dom';

/** Cuts a label to fit a node box; the full text stays in the node's `<title>` tooltip. */
export function fitLabel(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, Math.max(1, max - 1))}…`;
}

/** `known: false` (a model without a price) shows "—": the engine counts its calls as $0. */
export function formatCost(usd: number, known = true): string {
  if (!known && !(usd > 0)) return '—';
  const text = usd <= 0 ? '$0.00' : usd < 0.01 ? '<$0.01' : `$${usd.toFixed(2)}`;
  return known ? text : `${text}+`;
}

/**
 * The scale that fits a graph `graphWidth` wide into `available` pixels (and, when given, its
 * height into the height available), never enlarging; or the user's zoom. Bounded so a zoom never makes the drawing vanish or explode.
 */
export function graphScale(graphWidth: number, available: number, zoom: number | 'fit', height?: { graph: number; available: number }): number {
  let fit = graphWidth > 0 && available > 0 ? Math.min(1, available / graphWidth) : 1;
  // A left-to-right graph (an editor tab) also fits its height, so a big plan shows whole;
  // a top-to-bottom one (the sidebar) scrolls down instead of shrinking to nothing.
  if (height && height.graph > 0 && height.available > 0) fit = Math.min(fit, height.available / height.graph);
  const s = zoom === 'fit' ? fit : zoom;
  return Math.min(4, Math.max(0.1, s));
}

/** Cubic edge from the right side of `a` to the left side of `b`, or bottom to top when the graph runs down. */
function edgePath(a: GraphNode, b: GraphNode, down: boolean): string {
  // An edge back against the layout (the edge that closes a draft's cycle) goes around the
  // boxes, on the right when the graph runs down and below when it runs right, so it is
  // never hidden under the forward edge it retraces.
  if (down && b.y + b.height <= a.y) {
    const x1 = a.x + a.width;
    const y1 = a.y + a.height / 2;
    const x2 = b.x + b.width + 6;
    const y2 = b.y + b.height / 2;
    return `M ${x1} ${y1} C ${x1 + BACK_EDGE_ROOM} ${y1}, ${x2 + BACK_EDGE_ROOM} ${y2}, ${x2} ${y2}`;
  }
  if (!down && b.x + b.width <= a.x) {
    const x1 = a.x + a.width / 2;
    const y1 = a.y + a.height;
    const x2 = b.x + b.width / 2;
    const y2 = b.y + b.height + 6;
    return `M ${x1} ${y1} C ${x1} ${y1 + BACK_EDGE_ROOM}, ${x2} ${y2 + BACK_EDGE_ROOM}, ${x2} ${y2}`;
  }
  if (down) {
    const x1 = a.x + a.width / 2;
    const y1 = a.y + a.height;
    const x2 = b.x + b.width / 2;
    const y2 = b.y - 6;
    const dy = Math.max(14, (y2 - y1) / 2);
    return `M ${x1} ${y1} C ${x1} ${y1 + dy}, ${x2} ${y2 - dy}, ${x2} ${y2}`;
  }
  const x1 = a.x + a.width;
  const y1 = a.y + a.height / 2;
  const x2 = b.x - 6;
  const y2 = b.y + b.height / 2;
  const dx = Math.max(20, (x2 - x1) / 2);
  return `M ${x1} ${y1} C ${x1 + dx} ${y1}, ${x2 - dx} ${y2}, ${x2} ${y2}`;
}

/**
 * Draws the dependency graph as SVG into `root` (replacing what was there). Node boxes
 * carry `status-<status>` and `critical` classes for the stylesheet; clicking a node or
 * pressing Enter/Space on it calls `onOpen(taskId)`. All model-written text (titles,
 * goal) goes through `textContent`, never markup, so a title like
 * `<img src=x onerror=alert(1)>` shows as those characters.
 */
export interface DraftDrawing {
  /** A click on an edge of a draft: the host deletes the dependency. */
  onEdge(from: string, to: string): void;
  /** The task picked as the start of a new dependency (Link mode), drawn highlighted. */
  linkFrom?: string;
}

export function renderGraph(doc: DomDocument, root: DomNode, graph: GraphModel, onOpen: (taskId: string) => void, scale = 1, draft?: DraftDrawing): void {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const down = graph.direction === 'down';
  // The drawing keeps its own coordinates (viewBox); width and height scale it to fit or zoom.
  const canvas = svg(doc, 'svg', {
    class: `graph ${down ? 'down' : 'right'}`,
    width: Math.max(Math.round(graph.width * scale), 1),
    height: Math.max(Math.round(graph.height * scale), 1),
    viewBox: `0 0 ${Math.max(graph.width, 1)} ${Math.max(graph.height, 1)}`,
    role: 'group',
    'aria-label': `Task graph, ${graph.nodes.length} tasks`,
  });
  const defs = canvas.appendChild(svg(doc, 'defs'));
  for (const [id, cls] of [['arrow', 'arrow'], ['arrow-critical', 'arrow critical'], ['arrow-cycle', 'arrow cycle']] as const) {
    const marker = defs.appendChild(svg(doc, 'marker', { id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto-start-reverse' }));
    marker.appendChild(svg(doc, 'path', { d: 'M 0 0 L 10 5 L 0 10 z', class: cls }));
  }
  const edges = canvas.appendChild(svg(doc, 'g', { class: 'edges' }));
  // Critical edges last so they draw on top of the others.
  for (const e of [...graph.edges].sort((a, b) => Number(a.critical) - Number(b.critical))) {
    const a = byId.get(e.from);
    const b = byId.get(e.to);
    if (!a || !b) continue;
    const d = edgePath(a, b, down);
    const cls = e.cycle ? 'edge cycle' : e.critical ? 'edge critical' : 'edge';
    edges.appendChild(svg(doc, 'path', { d, class: cls, 'marker-end': `url(#${e.cycle ? 'arrow-cycle' : e.critical ? 'arrow-critical' : 'arrow'})` }));
    if (draft) {
      // A wide invisible stroke over the edge: a 1 px line is too thin to click.
      const label = `Dependency ${e.from} → ${e.to}${e.cycle ? ' (part of a cycle)' : ''}: click to delete`;
      const hit = edges.appendChild(svg(doc, 'path', { d, class: 'edge-hit', tabindex: 0, role: 'button', 'aria-label': label, 'data-from': e.from, 'data-to': e.to }));
      hit.appendChild(svg(doc, 'title', {}, label));
      const del = () => draft.onEdge(e.from, e.to);
      hit.addEventListener('click', del);
      hit.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter' || ev.key === 'Delete' || ev.key === 'Backspace') {
          ev.preventDefault?.();
          del();
        }
      });
    }
  }
  const nodes = canvas.appendChild(svg(doc, 'g', { class: 'nodes' }));
  const maxChars = Math.max(8, Math.floor((graph.nodes[0]?.width ?? 170) / 7.2) - 2);
  for (const n of graph.nodes) {
    const g = nodes.appendChild(svg(doc, 'g', {
      class: `node status-${n.status}${n.critical ? ' critical' : ''}${n.hasChange ? ' has-change' : ''}${draft?.linkFrom === n.id ? ' link-from' : ''}`,
      transform: `translate(${n.x} ${n.y})`,
      tabindex: 0,
      role: 'button',
      'data-task-id': n.id,
    }));
    const agentText = [n.agent, n.activity].filter(Boolean).join(': ');
    const tip = [`${n.title}`, `${n.id} · ${n.type} · ${n.status} · ${formatCost(n.costUsd, n.costKnown !== false)}${n.critical ? ' · critical path' : ''}`];
    if (n.agent) tip.push(`Agent: ${n.agent}`);
    if (n.activity) tip.push(`Now: ${n.activity}`);
    g.appendChild(svg(doc, 'title', {}, tip.join('\n')));
    g.appendChild(svg(doc, 'rect', { width: n.width, height: n.height, rx: 5, ry: 5, class: 'box' }));
    g.appendChild(svg(doc, 'rect', { width: 5, height: n.height, rx: 2, ry: 2, class: 'stripe' }));
    g.appendChild(svg(doc, 'text', { x: 12, y: 18, class: 'title' }, fitLabel(n.title, maxChars)));
    g.appendChild(svg(doc, 'text', { x: 12, y: 36, class: 'meta' }, `${n.id} · ${n.status}${n.costUsd > 0 || n.costKnown === false ? ` · ${formatCost(n.costUsd, n.costKnown !== false)}` : ''}`));
    // The agent's name and what it does: model-adjacent text, so textContent like the rest.
    if (agentText) g.appendChild(svg(doc, 'text', { x: 12, y: 53, class: 'agent' }, fitLabel(agentText, maxChars)));
    g.addEventListener('click', () => onOpen(n.id));
    g.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') {
        ev.preventDefault?.();
        onOpen(n.id);
      }
    });
  }
  root.replaceChildren(canvas);
}

/** The line under the header: goal, status, cost and the critical path, as text only. */
export function renderSummary(doc: DomDocument, root: DomNode, graph: GraphModel): void {
  const goal = el(doc, 'div', { class: 'goal', title: graph.goal }, graph.goal);
  const counts = new Map<string, number>();
  for (const n of graph.nodes) counts.set(n.status, (counts.get(n.status) ?? 0) + 1);
  const parts = [...counts].map(([s, c]) => `${c} ${s}`);
  const meta = el(doc, 'div', { class: 'meta' }, `${graph.runStatus} · ${graph.nodes.length} tasks (${parts.join(', ')}) · ${formatCost(graph.costUsd, graph.costKnown !== false)}`);
  const path = el(doc, 'div', { class: 'critical-path' }, graph.criticalPath.length > 0 ? `Critical path: ${graph.criticalPath.join(' → ')}` : '');
  root.replaceChildren(goal, meta, path);
}

/** The draft bar: what to do, and every validator error as text. */
export function renderDraftNotes(doc: DomDocument, root: DomNode, graph: GraphModel, linking: boolean, linkFrom?: string): void {
  const errors = graph.draft?.errors ?? [];
  const hint = linking
    ? linkFrom ? `Link: now click the task that waits for ${linkFrom}.` : 'Link: click the task that must finish first.'
    : 'Draft plan: click a task to edit it, Link to draw a dependency, click an edge to delete it, then Start Run.';
  root.replaceChildren(
    el(doc, 'div', { class: 'draft-hint' }, hint),
    ...errors.map((e) => el(doc, 'div', { class: 'draft-error', role: 'alert' }, e)),
  );
}
