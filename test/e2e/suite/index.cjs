// The in-editor suite run by @vscode/test-electron (test/e2e/electron.mjs). Plain asserts,
// no framework: `run()` rejects on the first failure, which fails the run.
const assert = require('node:assert/strict');
const path = require('node:path');
const vscode = require('vscode');

const manifest = require(path.join(__dirname, '../../../package.json'));

const tests = [
  ['activates and exports its host', async () => {
    const ext = vscode.extensions.getExtension('hyperion-dev.hyperion');
    assert.ok(ext, 'extension is installed');
    const api = await ext.activate();
    assert.ok(api && api.host, 'activate() returns { host }');
  }],
  ['registers every command of the manifest', async () => {
    const all = new Set(await vscode.commands.getCommands(true));
    for (const c of manifest.contributes.commands) assert.ok(all.has(c.command), `${c.command} is registered`);
  }],
  ['opens the engine in a trusted git workspace', async () => {
    const api = vscode.extensions.getExtension('hyperion-dev.hyperion').exports;
    const engine = await api.host.get();
    assert.deepEqual(engine.listRuns(5), []);
    assert.equal(engine.queueSummary().running, 0);
  }],
  ['shows the queue view on Show Queue', async () => {
    await vscode.commands.executeCommand('hyperion.showQueue');
  }],
];

exports.run = async function run() {
  for (const [name, fn] of tests) {
    try {
      await fn();
      process.stdout.write(`  ok   ${name}\n`);
    } catch (e) {
      process.stdout.write(`  FAIL ${name}: ${e && e.message}\n`);
      throw e;
    }
  }
};
