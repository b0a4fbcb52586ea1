import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { openDb } from '../../src/engine/store/db';
import { stateDirFor } from '../../src/engine/store/location';
import { makeSampleRepo, runCli } from '../support/cli';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function repo(): string {
  const r = makeSampleRepo();
  dirs.push(r);
  return r;
}

function requestFile(dir: string, body: unknown): string {
  const file = path.join(dir, '..', `${path.basename(dir)}-ro-request.json`);
  fs.writeFileSync(file, JSON.stringify(body));
  dirs.push(file);
  return file;
}

const NEW_FILE = (name: string, line: string) =>
  `diff --git a/${name} b/${name}\nnew file mode 100644\n--- /dev/null\n+++ b/${name}\n@@ -0,0 +1 @@\n+${line}\n`;

async function counts(dir: string) {
  const db = await openDb({ dir: await stateDirFor(dir) });
  try {
    return {
      statuses: db.all<{ status: string }>('SELECT status FROM change_requests').map((r) => r.status),
      entries: db.get<{ n: number }>('SELECT COUNT(*) AS n FROM queue_entries')!.n,
    };
  } finally {
    db.close();
  }
}

describe('CLI: read-only commands and unlanded tasks', () => {
  it('status, history and queue list never approve or queue a change left waiting under approve-all', async () => {
    const dir = repo();
    const file = requestFile(dir, { goal: 'one', approve: 'none', tasks: [{ id: 'x', title: 'Add x', type: 'code_gen', patch: NEW_FILE('x.txt', 'x') }] });
    const r = await runCli(['request', file, '--json'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    // As a crash between storing the change and approving it automatically would leave it.
    const db = await openDb({ dir: await stateDirFor(dir) });
    db.run("UPDATE runs SET approve = 'all'");
    db.close();
    for (const args of [['status', '--json'], ['history', '--json'], ['queue', 'list', '--json'], ['queue', '--json']]) {
      const out = await runCli(args, { cwd: dir });
      assert.equal(out.code, 0, `${args.join(' ')}: ${out.stderr}`);
      assert.deepEqual(await counts(dir), { statuses: ['proposed'], entries: 0 }, `${args.join(' ')} only reads`);
    }
  });

  it('a change blocked on the user\'s uncommitted file exits 1 and says why in the task error', async () => {
    const dir = repo();
    fs.writeFileSync(path.join(dir, 'README.md'), 'my own unsaved work\n');
    // Build a patch against the committed README.
    const committed = execFileSync('git', ['show', 'HEAD:README.md'], { cwd: dir, encoding: 'utf8' });
    const lines = committed.split('\n').filter((l, i, a) => i < a.length - 1 || l !== '');
    const body = lines.map((l) => ` ${l}`).join('\n');
    const readmePatch = `diff --git a/README.md b/README.md\n--- a/README.md\n+++ b/README.md\n@@ -1,${lines.length} +1,${lines.length + 1} @@\n${body}\n+added by the agent\n`;
    const file = requestFile(dir, { goal: 'edit readme', approve: 'all', tasks: [{ id: 'r', title: 'Edit README', type: 'docs', patch: readmePatch }] });
    const r = await runCli(['request', file, '--json'], { cwd: dir });
    assert.equal(r.code, 1, `a change that did not land is not a success: ${r.stdout} ${r.stderr}`);
    const task = (JSON.parse(r.stdout) as { tasks: Array<{ id: string; status: string; commit: string | null; error: string | null }> }).tasks[0]!;
    assert.equal(task.commit, null);
    assert.ok(task.error, `the task says why it did not land: ${JSON.stringify(task)}`);
    assert.match(task.error!, /blocked/);
    assert.match(task.error!, /README\.md/);
    assert.equal(fs.readFileSync(path.join(dir, 'README.md'), 'utf8'), 'my own unsaved work\n', 'the user\'s work is untouched');
  });
});
