// Child process for bench/extension.bench.ts: measures how long Node takes to load and
// evaluate the extension bundle, and nothing else. Run with plain node (no tsx, so no loader
// skews the figure):
//   node bench/support/extension-load.mjs none          baseline: the same script, no bundle
//   node bench/support/extension-load.mjs <bundle.js>   require the bundle with a stub `vscode`
// Prints one JSON line: { requireMs, activateType }.
//
// The `vscode` stub is NOT VS Code. It is a Proxy on which every property is again a callable,
// constructible stub, so that module evaluation (class declarations, `require("vscode")`
// wrappers) can run. `activate` is never called: this measures module evaluation only,
// not the extension's behaviour.
import Module, { createRequire } from 'node:module';
import path from 'node:path';

const STUB_ID = path.join(path.sep, 'hyperion-bench', 'vscode-stub.js');

function anything(name) {
  const f = function () {};
  return new Proxy(f, {
    get(target, prop) {
      if (prop === 'prototype') return target.prototype;
      if (prop === Symbol.toPrimitive) return () => name;
      if (prop === 'then' || prop === '__esModule') return undefined;
      return anything(`${name}.${String(prop)}`);
    },
    apply() {
      return anything(`${name}()`);
    },
    construct() {
      return anything(`new ${name}`);
    },
  });
}

const target = process.argv[2];
if (!target) {
  process.stderr.write('usage: extension-load.mjs none|<bundle.js>\n');
  process.exit(2);
}
let requireMs = 0;
let activateType = 'none';
if (target !== 'none') {
  const require = createRequire(import.meta.url);
  const originalResolve = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    return request === 'vscode' ? STUB_ID : originalResolve.call(this, request, ...rest);
  };
  const stub = new Module(STUB_ID);
  stub.filename = STUB_ID;
  stub.loaded = true;
  stub.exports = anything('vscode');
  require.cache[STUB_ID] = stub;

  const t0 = performance.now();
  const ext = require(path.resolve(target));
  requireMs = performance.now() - t0;
  activateType = typeof ext.activate;
}
process.stdout.write(`${JSON.stringify({ requireMs, activateType })}\n`);
