import { randomBytes } from 'node:crypto';

export function makeNonce(): string {
  return randomBytes(18).toString('base64').replace(/[^A-Za-z0-9]/g, '');
}

/** The Content-Security-Policy of the graph webview: nothing but our nonce'd script and styles from our own folders. */
export function graphCsp(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
    `img-src ${cspSource}`,
  ].join('; ');
}

/**
 * The graph webview page: a static shell with no inline script; `dist/webview.js` fills it
 * after sending `webview/ready`. Only the URIs and nonce are interpolated, and they come
 * from VS Code and `makeNonce`, never from model output.
 */
export function graphHtml(opts: { cspSource: string; nonce: string; scriptUri: string; styleUri: string }): string {
  const { cspSource, nonce, scriptUri, styleUri } = opts;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${graphCsp(cspSource, nonce)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta property="csp-nonce" content="${nonce}">
<link rel="stylesheet" href="${styleUri}" nonce="${nonce}">
<title>Hyperion task graph</title>
</head>
<body>
<div id="header"></div>
<div id="summary"></div>
<div id="canvas" tabindex="0" aria-label="Task graph"></div>
<script type="module" nonce="${nonce}" src="${scriptUri}"></script>
</body>
</html>`;
}
