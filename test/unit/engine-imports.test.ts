import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';

const ENGINE = path.resolve(__dirname, '../../src/engine');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.(ts|tsx|mts|cts|js|mjs)$/.test(e.name) ? [p] : [];
  });
}

// Static imports, re-exports, `import type`, dynamic import() and require(), of 'vscode' or 'vscode/…'.
const VSCODE_IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"]vscode(?:\/[^'"]*)?['"]/;

it('keeps src/engine free of vscode imports', () => {
  const files = sourceFiles(ENGINE);
  assert.ok(files.length > 10, `expected engine sources under ${ENGINE}`);
  const offenders = files.filter((f) => VSCODE_IMPORT.test(fs.readFileSync(f, 'utf8'))).map((f) => path.relative(ENGINE, f));
  assert.deepEqual(offenders, [], `these engine files import vscode: ${offenders.join(', ')}`);
});

it('recognises every form of a vscode import', () => {
  for (const s of ["import * as vscode from 'vscode';", 'import type { Uri } from "vscode";', "export { x } from 'vscode';", "const v = require('vscode');", "await import('vscode')", "import 'vscode';"]) {
    assert.match(s, VSCODE_IMPORT, s);
  }
  for (const s of ["import x from 'vscode-uri';", "// talks to vscode through a port", "import { y } from './vscodeLm';"]) {
    assert.doesNotMatch(s, VSCODE_IMPORT, s);
  }
});
