import { provideVSCodeDesignSystem, vsCodeBadge, vsCodeDropdown, vsCodeOption, vsCodeProgressRing } from '@vscode/webview-ui-toolkit';
import type { RunChoice } from '../../protocol/messages';
import { el, type DomDocument, type DomNode } from '../dom';

/**
 * The only module that touches `@vscode/webview-ui-toolkit` (deprecated upstream, pinned at
 * 1.4.0): if it has to be replaced, this file is the whole blast radius. Components are
 * registered once; the builders below create toolkit elements with text set through
 * `textContent` only.
 */
let registered = false;
export function registerToolkit(): void {
  if (registered) return;
  provideVSCodeDesignSystem().register(vsCodeDropdown(), vsCodeOption(), vsCodeBadge(), vsCodeProgressRing());
  registered = true;
}

/** A dropdown of runs; `onSelect` fires with the chosen run id. */
export function runPicker(doc: DomDocument, runs: RunChoice[], selected: string, onSelect: (runId: string) => void): DomNode {
  const dd = el(doc, 'vscode-dropdown', { class: 'run-picker', 'aria-label': 'Run', position: 'below' });
  for (const r of runs) {
    const attrs: Record<string, string> = { value: r.id };
    if (r.id === selected) attrs.selected = '';
    dd.appendChild(el(doc, 'vscode-option', attrs, r.label));
  }
  dd.addEventListener('change', (ev) => {
    const value = (ev as unknown as { target?: { value?: unknown } }).target?.value;
    if (typeof value === 'string' && value !== selected) onSelect(value);
  });
  return dd;
}

export function countBadge(doc: DomDocument, count: number, label: string): DomNode {
  return el(doc, 'vscode-badge', { 'aria-label': label, title: label }, String(count));
}

export function progressRing(doc: DomDocument): DomNode {
  return el(doc, 'vscode-progress-ring', { 'aria-label': 'Loading' });
}
