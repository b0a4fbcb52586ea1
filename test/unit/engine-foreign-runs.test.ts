import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Engine } from '../../src/engine/api';
import { defaultConfig } from '../../src/engine/config';
import { isEngineError } from '../../src/engine/errors';
import type { EngineEvent } from '../../src/engine/events';
import { silentLogger } from '../../src/engine/ports';
import { openEngine } from '../../src/extension/engineFactory';
import { gitOut, makeSampleRepo, runCli } from '../support/cli';
import { waitFor } from '../support/processes';

const dirs: string[] = [];
const engines: Engine[] = [];
after(async () => {
  for (const e of engines) await e.dispose();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const NEW_FILE = (name: string, line: string) =>
  `diff --git a/${name} b/${name}\nnew file mode 100644\n--- /dev/null\n+++ b/${name}\n@@ -0,0 +1 @@\n+${line}\n`;

function requestFile(dir: string, name: string): string {
  const file = path.join(dir, '..', `${path.basename(dir)}-${name}-request.json`);
  fs.writeFileSync(file, JSON.stringify({ goal: `add ${name}`, approve: 'none', tasks: [{ id: name, title: `Add ${name}`, type: 'code_gen', patch: NEW_FILE(`${name}.txt`, name) }] }));
  dirs.push(file);
  return file;
}

/** `hyperion request` in another process, as a user types it in a terminal; returns the run's id. */
async function cliRequest(dir: string, name: string): Promise<string> {
  const r = await runCli(['request', requestFile(dir, name), '--json'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { runId: string }).runId;
}

describe('the editor\'s engine and a CLI run on the same repository', () => {
  it('shows a run the CLI wrote without reopening, and either side approves safely', async () => {
    const dir = makeSampleRepo();
    dirs.push(dir);
    // The engine as the extension opens it (resuming, landing in the background, watching the store).
    const engine = await openEngine({ repo: dir, config: defaultConfig(), ports: { log: silentLogger, secrets: { get: async () => undefined } } });
    engines.push(engine);
    const events: EngineEvent[] = [];
    engine.onDidChange((e) => events.push(e));
    const changed = () => events.filter((e) => e.kind === 'store/changed').length;
    assert.equal(engine.listRuns().length, 0);

    const runId = await cliRequest(dir, 'one');
    // The views refresh on any engine event: this one says another process wrote.
    await waitFor(() => changed() > 0, 'the engine to report the CLI\'s writes');
    const run = engine.listRuns().find((r) => r.id === runId);
    assert.ok(run, 'the CLI run is listed');
    assert.equal(run.status, 'awaiting-review');
    assert.equal(run.tasks[0]!.status, 'proposed');
    const change = engine.listChanges({ status: 'proposed' }).find((c) => c.runId === runId);
    assert.ok(change, 'its change waits for review in this engine too');

    // Approved here, landed here by the background lander; the CLI sees it merged.
    await engine.approveChange(change.id, { version: change.version });
    await waitFor(() => engine.getChange(change.id)?.status === 'merged', 'the change to land');
    assert.match(gitOut(dir, 'log', '--format=%s', '-1'), /one/i);
    const listed = await runCli(['queue', 'list', '--json'], { cwd: dir });
    assert.equal((JSON.parse(listed.stdout) as { entries: Array<{ changeId: string; state: string }> }).entries.find((e) => e.changeId === change.id)?.state, 'merged');

    // Approved from the CLI: this engine sees it merged, and its own late approval is refused, not doubled.
    const second = await cliRequest(dir, 'two');
    await waitFor(() => engine.listChanges({ status: 'proposed' }).some((c) => c.runId === second), 'the second CLI run to show');
    const other = engine.listChanges({ status: 'proposed' }).find((c) => c.runId === second)!;
    const before = changed();
    const approved = await runCli(['queue', 'approve', other.id, '--json'], { cwd: dir });
    assert.equal(approved.code, 0, approved.stderr);
    await waitFor(() => changed() > before && engine.getChange(other.id)?.status === 'merged', 'the CLI\'s landing to show');
    assert.equal(engine.getRun(second)?.status, 'done');
    await assert.rejects(engine.approveChange(other.id), (e) => isEngineError(e, 'usage/bad-state'));
    assert.equal(gitOut(dir, 'log', '--format=%s').split('\n').filter((s) => /two/i.test(s)).length, 1, 'landed once');
  });
});
