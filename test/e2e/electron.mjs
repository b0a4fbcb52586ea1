// In-editor tests through @vscode/test-electron. They need to download VS Code, which works
// on a developer machine or CI with internet; offline (as on the build box) they are SKIPPED
// loudly and the real-editor coverage comes from `npm run test:e2e` (code-server + Chromium).
// Run: node test/e2e/electron.mjs
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function reachable(url) {
  try {
    const r = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(5000) });
    return r.status < 500;
  } catch {
    return false;
  }
}

if (!(await reachable('https://update.code.visualstudio.com/api/releases/stable'))) {
  const bar = '!'.repeat(78);
  process.stdout.write(`\n${bar}\n!! SKIPPED: @vscode/test-electron in-editor suite\n!! VS Code cannot be downloaded here (update.code.visualstudio.com is unreachable).\n!! Nothing in this suite ran. Real-editor coverage on this machine comes from\n!!   npm run test:e2e   (code-server 4.139.1 + Chromium, see test/e2e/run.mjs)\n${bar}\n\n`);
  process.exit(0);
}

spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
const ws = mkdtempSync(path.join(os.tmpdir(), 'hyperion-electron-'));
try {
  spawnSync('git', ['init', '-q', '-b', 'main'], { cwd: ws });
  writeFileSync(path.join(ws, 'README.md'), '# sample\n');
  const { runTests } = await import('@vscode/test-electron');
  await runTests({
    extensionDevelopmentPath: root,
    extensionTestsPath: path.join(root, 'test/e2e/suite/index.cjs'),
    launchArgs: [ws, '--disable-extensions', '--disable-workspace-trust'],
  });
} catch (e) {
  process.stderr.write(`in-editor tests failed: ${e?.message ?? e}\n`);
  process.exitCode = 1;
} finally {
  rmSync(ws, { recursive: true, force: true });
}
