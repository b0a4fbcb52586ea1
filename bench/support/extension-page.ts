// The graph webview outside VS Code, for the render benchmark: the real page from
// `graphHtml` (with its real Content-Security-Policy), the real `webview.js` and
// `media/graph.css`, served on 127.0.0.1 and opened in headless Chromium. What VS Code adds
// around a webview is stood in for: `acquireVsCodeApi()` (a stub that records what the page
// posts) and a subset of the Dark Modern theme's CSS variables, which VS Code injects into
// every webview and without which the stylesheet draws black on black.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { graphHtml, makeNonce } from '../../src/extension/webviewHtml';
import type { ToWebview } from '../../src/protocol/messages';

const THEME: Record<string, string> = {
  'font-family': 'system-ui, "Ubuntu", "Droid Sans", "DejaVu Sans", sans-serif',
  'font-size': '13px',
  foreground: '#cccccc',
  descriptionForeground: '#9d9d9d',
  disabledForeground: '#cccccc80',
  focusBorder: '#0078d4',
  'widget-border': '#313131',
  'editorWidget-background': '#202020',
  'editorIndentGuide-activeBackground': '#707070',
  'charts-orange': '#d18616',
  'charts-blue': '#3794ff',
  'charts-yellow': '#cca700',
  'charts-green': '#89d185',
  'charts-red': '#f14c4c',
  'dropdown-background': '#313131',
  'dropdown-foreground': '#cccccc',
  'dropdown-border': '#3c3c3c',
  'badge-background': '#616161',
  'badge-foreground': '#f8f8f8',
  'progressBar-background': '#0078d4',
  'sideBar-background': '#181818',
};

export interface PageServer {
  origin: string;
  close(): Promise<void>;
}

/** Serves the page at `/`, the bundle at `/dist/webview.js` (from `distDir`) and `/media/graph.css`. */
export async function servePage(distDir: string, mediaDir: string): Promise<PageServer> {
  let origin = '';
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin || 'http://127.0.0.1');
    const send = (status: number, type: string, body: string | Buffer) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (url.pathname === '/') {
      const nonce = makeNonce();
      const vars = Object.entries(THEME).map(([k, v]) => `--vscode-${k}: ${v};`).join(' ');
      const theme = `<style nonce="${nonce}">:root { ${vars} } html { background: #181818; }</style>\n</head>`;
      const html = graphHtml({ cspSource: origin, nonce, scriptUri: `${origin}/dist/webview.js`, styleUri: `${origin}/media/graph.css` });
      send(200, 'text/html; charset=utf-8', html.replace('</head>', theme));
    } else if (url.pathname === '/dist/webview.js') {
      send(200, 'text/javascript; charset=utf-8', fs.readFileSync(path.join(distDir, 'webview.js')));
    } else if (url.pathname === '/media/graph.css') {
      send(200, 'text/css; charset=utf-8', fs.readFileSync(path.join(mediaDir, 'graph.css')));
    } else if (url.pathname === '/favicon.ico') {
      send(204, 'text/plain', '');
    } else {
      send(404, 'text/plain', 'not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Milliseconds from posting the message, all measured with the page's `performance.now()`. */
export interface RenderTiming {
  /** The webview's message handler has returned: zod-validated, SVG built and in the DOM. */
  handledMs: number;
  /** A forced synchronous layout of the canvas and the last node has completed. */
  layoutMs: number;
  /** The next animation frame started (nodes in the DOM and laid out). */
  frameMs: number;
  /** A task queued from that frame ran: the frame has been painted. */
  paintedMs: number;
}

interface PageHooks {
  __posted: Array<{ type?: string }>;
  __csp: CspViolation[];
  __timeRender(msg: unknown, expectedNodes: number): Promise<RenderTiming | string>;
}

/**
 * Runs in the page before its own scripts. Plain JavaScript in a string on purpose: a function
 * passed to Playwright is serialised with `toString()`, and tsx's compiler adds `__name(...)`
 * helper calls to it that do not exist in the page.
 *
 * `__timeRender(msg, n)` posts `msg` as the host would (a `message` event on window) and
 * times the render. Its listener is added after the webview's own, so it runs right after
 * the webview's handler in the same dispatch. Resolves to a string if the page did not end
 * up with `n` node boxes.
 */
const PAGE_SCRIPT = `
window.__posted = [];
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push({ directive: e.violatedDirective, blocked: e.blockedURI || '', file: (e.sourceFile || '').split('/').pop(), line: e.lineNumber, column: e.columnNumber });
});
window.acquireVsCodeApi = () => ({
  postMessage: (m) => { window.__posted.push(m); },
  getState: () => undefined,
  setState: () => undefined,
});
window.__timeRender = (msg, expectedNodes) => new Promise((resolve) => {
  const canvas = document.getElementById('canvas');
  let t0 = 0;
  window.addEventListener('message', () => {
    const handledMs = performance.now() - t0;
    const nodes = canvas.querySelectorAll('g.node');
    if (nodes.length !== expectedNodes) {
      resolve('expected ' + expectedNodes + ' nodes in the DOM, found ' + nodes.length);
      return;
    }
    nodes[nodes.length - 1].getBoundingClientRect();
    void canvas.offsetHeight;
    const layoutMs = performance.now() - t0;
    requestAnimationFrame(() => {
      const frameMs = performance.now() - t0;
      const ch = new MessageChannel();
      ch.port1.onmessage = () => resolve({ handledMs, layoutMs, frameMs, paintedMs: performance.now() - t0 });
      ch.port2.postMessage(0);
    });
  }, { once: true });
  t0 = performance.now();
  window.postMessage(msg, '*');
});
`;

/** What the page said on its console or threw (CSP violations are read with `cspViolations`). */
export interface PageProblems {
  /** Uncaught exceptions in the page. */
  exceptions: string[];
  /** console.error, including the browser's own echo of each CSP violation. */
  errors: string[];
  warnings: string[];
}

/**
 * Opens the page and resolves once the webview has posted `webview/ready` (the handshake
 * the host waits for). The `acquireVsCodeApi` stub is added as an init script, so the page
 * itself keeps its real CSP (no inline script of ours in it).
 */
export async function openGraphPage(browser: Browser, origin: string, viewport: { width: number; height: number }): Promise<{ page: Page; problems: PageProblems }> {
  const page = await browser.newPage({ viewport, deviceScaleFactor: 1 });
  const problems: PageProblems = { exceptions: [], errors: [], warnings: [] };
  page.on('pageerror', (e) => problems.exceptions.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.errors.push(m.text());
    else if (m.type() === 'warning') problems.warnings.push(m.text());
  });
  await page.addInitScript({ content: PAGE_SCRIPT });
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => (window as unknown as PageHooks).__posted.some((m) => m.type === 'webview/ready'), undefined, { timeout: 15_000 });
  return { page, problems };
}

/** A `securitypolicyviolation` event: what was blocked and where in which script (1-based line and column). */
export interface CspViolation {
  directive: string;
  blocked: string;
  file: string;
  line: number;
  column: number;
}

export async function cspViolations(page: Page): Promise<CspViolation[]> {
  return page.evaluate(() => (window as unknown as PageHooks).__csp);
}

/** Times one render of `msg` (see `__timeRender` above); throws if the page did not show `expectedNodes` nodes. */
export async function timeRender(page: Page, msg: ToWebview, expectedNodes: number): Promise<RenderTiming> {
  const result = await page.evaluate(([m, n]) => (window as unknown as PageHooks).__timeRender(m, n), [msg, expectedNodes] as const);
  if (typeof result === 'string') throw new Error(result);
  return result;
}
