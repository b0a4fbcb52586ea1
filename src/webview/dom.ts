/**
 * The slice of the DOM the renderers use. Keeping to it lets unit tests render into a tiny
 * stand-in, and it has no markup-parsing method on purpose: model-written text
 * can only reach the page through `textContent` and attribute values.
 */
export interface DomNode {
  textContent: string | null;
  setAttribute(name: string, value: string): void;
  appendChild<T extends DomNode>(child: T): T;
  addEventListener(type: string, listener: (ev: { key?: string; preventDefault?(): void }) => void): void;
  replaceChildren(...nodes: DomNode[]): void;
}

export interface DomDocument {
  createElement(tag: string): DomNode;
  createElementNS(ns: string, tag: string): DomNode;
}

export const SVG_NS = 'http://www.w3.org/2000/svg';

/** Creates an element with attributes and, optionally, text set through `textContent`. */
export function el(doc: DomDocument, tag: string, attrs: Record<string, string> = {}, text?: string): DomNode {
  const e = doc.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

export function svg(doc: DomDocument, tag: string, attrs: Record<string, string | number> = {}, text?: string): DomNode {
  const e = doc.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}
