import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunnablePlan } from '../../src/engine/api';
import { createEngine } from '../../src/engine/engine';
import { isEngineError } from '../../src/engine/errors';
import { openDb } from '../../src/engine/store/db';
import { runCli } from '../support/cli';
import { copyStoreFiles, fillDisk, mountTmpfs, remount, unmount } from '../support/fault-disk';
import { faultConfig, keepingLogger, taskLine, within } from '../support/fault-engine';
import { testSecrets } from '../support/loopback/client';
import { filePatch, makeRepo, type TempRepo } from '../support/queue-repo';

/**
 * The state folder on a tiny tmpfs mounted at `<repo>/.git/hyperion` (the default state
 * folder, so the CLI uses it too): filling it mid-run gives `store/write-failed` with one
 * sentence and leaves a database that reopens with every committed run; a read-only state
 * folder is refused at `createEngine`. Skipped, with the reason, where `mount` is not allowed.
 */
const SIZE = '1m';

function patchPlan(goal: string, n: number): RunnablePlan {
  return {
    goal, rationale: '', confidence: 1, questions: [], assumptions: [],
    tasks: Array.from({ length: n }, (_, i) => {
      const rel = `disk/${goal.replace(/\W+/g, '-')}-${i}.txt`;
      return { id: `d${i}`, title: `add ${rel}`, type: 'code_gen' as const, prompt: `add ${rel}`, acceptanceCriteria: [], dependsOn: [], files: [rel], patch: filePatch(rel, null, `${i}\n`) };
    }),
  };
}

function requestFile(dir: string): string {
  const file = path.join(dir, 'request.json');
  fs.writeFileSync(file, JSON.stringify({ goal: 'from the cli', tasks: [{ id: 'c1', title: 'add c1', type: 'code_gen', patch: filePatch('disk/c1.txt', null, 'c1\n') }] }));
  return file;
}

/** The CLI failed with exactly one `hyperion:` sentence on stderr matching `why`. */
function assertOneSentence(res: { code: number; stderr: string }, why: RegExp): void {
  assert.notEqual(res.code, 0, res.stderr);
  const lines = res.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `one line on stderr:\n${res.stderr}`);
  assert.match(lines[0], /^hyperion: /);
  assert.match(lines[0], why);
}

describe('disk full and read-only state folder', () => {
  let repo: TempRepo;
  let stateDir: string;
  let work: string;
  let skip: string | undefined;

  before(() => {
    repo = makeRepo({ 'README.md': 'hello\n' });
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-'));
    stateDir = path.join(repo.dir, '.git', 'hyperion');
    skip = mountTmpfs(stateDir, SIZE);
  });

  after(() => {
    if (!skip) unmount(stateDir);
    repo.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('filling the state folder mid-run fails the run with store/write-failed and tears nothing', { timeout: 90_000 }, async (t) => {
    if (skip) return t.skip(skip);
    const log = keepingLogger();
    const engine = await createEngine({ repo: repo.dir, config: faultConfig(undefined, { concurrency: 1 }), ports: { log, secrets: testSecrets } });
    let filler: string | undefined;
    try {
      const first = await engine.startRun(patchPlan('before', 2));
      const firstView = await within(30_000, first.done, 'the first run');
      assert.equal(firstView.status, 'awaiting-review', taskLine(firstView.tasks));

      // Fill the disk right after the second run's first change is durable.
      const sub = engine.onDidChange((e) => {
        if (!filler && e.kind === 'change/proposed') filler = fillDisk(stateDir);
      });
      const second = await engine.startRun(patchPlan('during', 4));
      const err = await within(30_000, second.done.then(() => undefined, (e: unknown) => e), 'the run on a full disk');
      sub.dispose();
      assert.ok(filler, 'the disk was filled mid-run');
      assert.ok(isEngineError(err, 'store/write-failed'), `the run ends in store/write-failed, got ${String(err)}\n${log.lines.join('\n')}`);
      assert.match(err.message, /because the disk is full$/);
      assert.ok(!err.message.includes('\n'));

      // What the CLI says on the full disk: one sentence, non-zero exit.
      const cli = await runCli(['request', requestFile(work), '--json'], { cwd: repo.dir, timeoutMs: 60_000 });
      assertOneSentence(cli, /disk is full/);
      assert.equal(cli.stdout, '', 'no JSON result for a run that was not stored');

      // A copy of the files, as they are on the full disk, opens with every committed run.
      const copy = path.join(work, 'copy');
      copyStoreFiles(stateDir, copy);
      const db = await openDb({ dir: copy });
      try {
        assert.equal(db.get<{ integrity_check: string }>('PRAGMA integrity_check')?.integrity_check, 'ok');
        const runs = db.all<{ id: string; status: string }>('SELECT id, status FROM runs');
        assert.deepEqual(runs.map((r) => r.id).sort(), [first.runId, second.runId].sort());
        assert.equal(runs.find((r) => r.id === first.runId)?.status, 'done');
        const proposed = db.all<{ task_id: string }>("SELECT task_id FROM change_requests WHERE run_id = ? AND status = 'proposed'", [second.runId]);
        assert.ok(proposed.length >= 1, 'the change committed before the disk filled is kept');
      } finally {
        db.close();
      }

      // Free the space: the same engine writes again, nothing was lost.
      fs.rmSync(filler);
      const third = await engine.startRun(patchPlan('after', 1));
      const thirdView = await within(30_000, third.done, 'the run after freeing space');
      assert.equal(thirdView.status, 'awaiting-review', taskLine(thirdView.tasks));
      assert.equal(engine.listRuns(10).length, 3);

      // The run that hit the full disk has no loop behind it any more (its last writes failed),
      // so it still reads `running` until the engine restarts or the user cancels it.
      const stuck = engine.getRun(second.runId)!;
      assert.equal(stuck.status, 'running', 'documented: the store could not record the failure');
      await engine.cancelRun(second.runId);
      const cancelled = engine.getRun(second.runId)!;
      assert.equal(cancelled.status, 'cancelled');
      for (const task of cancelled.tasks) assert.ok(['proposed', 'cancelled'].includes(task.status), taskLine(cancelled.tasks));
      await t.test('a task cancelled with its idle run says why', () => {
        for (const task of cancelled.tasks.filter((x) => x.status === 'cancelled')) assert.ok(task.error, `${task.id} was cancelled without a reason`);
      });
    } finally {
      if (filler && fs.existsSync(filler)) fs.rmSync(filler);
      await engine.dispose();
    }
  });

  test('a read-only state folder is refused at createEngine with one sentence', { timeout: 60_000 }, async (t) => {
    if (skip) return t.skip(skip);
    remount(stateDir, 'ro');
    try {
      await assert.rejects(
        createEngine({ repo: repo.dir, config: faultConfig(undefined), ports: { log: keepingLogger(), secrets: testSecrets } }),
        (e: unknown) => isEngineError(e, 'store/write-failed') && /read-only file system/.test(e.message) && !e.message.includes('\n'),
      );
      const cli = await runCli(['status'], { cwd: repo.dir, timeoutMs: 60_000 });
      assertOneSentence(cli, /read-only file system/);
    } finally {
      remount(stateDir, 'rw');
    }
    // Writable again: the store is intact and opens.
    const db = await openDb({ dir: stateDir });
    try {
      assert.equal(db.get<{ integrity_check: string }>('PRAGMA integrity_check')?.integrity_check, 'ok');
    } finally {
      db.close();
    }
  });
});
