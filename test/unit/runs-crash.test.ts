import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { applyPatchToTree } from '../../src/engine/git/plumbing';
import { createRun } from '../../src/engine/runs/runs';
import { getRunView } from '../../src/engine/runs/views';
import { openDb } from '../../src/engine/store/db';
import { plan, task, makeRunFixture } from '../support/run-fixture';
import { prng } from '../support/random';
import { testSeeds } from '../support/store-crash-points';

const NODE = path.resolve('node_modules/.bin/node');
const CHILD = path.resolve('test/support/run-crash-child.ts');

function lines(file: string): Array<{ gen: number; nonce: string }> {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => {
    const [g, n] = l.split(' ');
    return { gen: Number(g), nonce: n! };
  });
}

/** Runs one child, which kills itself at `crashAt` (`<point>:<n>`) if given, or runs to the end. */
function runChild(args: string[], crashAt: string | undefined): Promise<{ crashed: string | undefined; signal: NodeJS.Signals | null; code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, HYPERION_CRASH_AT: crashAt };
    if (!crashAt) delete env.HYPERION_CRASH_AT;
    const child = spawn(NODE, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (err += b));
    child.on('exit', (code, signal) => {
      const crashed = /^crash (\S+ \d+)$/m.exec(out)?.[1];
      resolve({ crashed, signal, code, out, err });
    });
  });
}

interface Committed {
  nonces: Set<string>;
  settled: Map<string, { attempts: number; changeId: string | undefined }>;
}

async function inspect(stateDir: string, runId: string): Promise<Committed> {
  const db = await openDb({ dir: stateDir, staleLockMs: 2_000 });
  try {
    const nonces = new Set(db.all<{ response_text: string }>('SELECT response_text FROM model_calls').map((r) => (JSON.parse(r.response_text) as { nonce: string }).nonce));
    const view = getRunView(db, runId)!;
    const settled = new Map(view.tasks.filter((t) => t.status === 'proposed').map((t) => [t.id, { attempts: t.attempts, changeId: t.changeId }]));
    return { nonces, settled };
  } finally {
    db.close();
  }
}

describe('crash recovery', () => {
  it('finishes a run killed at named crash points without re-running finished tasks or repeating finished model calls', { timeout: 120_000 }, async () => {
    // Each of the first CRASHES processes is killed at the n-th (n ≤ 3) time it reaches a crash
    // point. A process makes at most 3 deliveries or commits of its point before dying, and
    // the run needs 18 model calls and many more commits, so every planned crash is reached.
    const POINTS = ['model-delivered', 'after-commit', 'mid-append', 'after-append', 'before-append'];
    const CRASHES = 4;
    for (const seed of testSeeds([1, 2, 3])) {
      const rand = prng(seed);
      const fx = await makeRunFixture();
      try {
        const tasks = [task('a'), task('b'), task('c', { dependsOn: ['a'] }), task('d', { dependsOn: ['a', 'b'] }), task('e', { dependsOn: ['c'] }), task('f')];
        const runId = createRun(fx.db, { goal: 'g', repo: fx.repo.dir, baseCommit: fx.repo.head(), plan: plan(tasks), approve: 'none', clock: { now: () => Date.now() } });
        fx.db.close();
        const logFile = path.join(fx.stateDir, 'deliveries.log');
        const history: Committed[] = [];
        let kills = 0;
        let finished = false;
        for (let gen = 0; gen < CRASHES + 2 && !finished; gen++) {
          const crashAt = gen < CRASHES ? `${POINTS[Math.floor(rand() * POINTS.length)]}:${1 + Math.floor(rand() * 3)}` : undefined;
          const r = await runChild([fx.stateDir, fx.repo.dir, runId, logFile, String(gen)], crashAt);
          const label = `seed ${seed} gen ${gen} (${crashAt ?? 'no crash'})`;
          if (crashAt) {
            assert.equal(r.signal, 'SIGKILL', `${label}: ended ${r.code} without reaching its crash point: ${r.err}`);
            assert.equal(r.crashed, crashAt.replace(':', ' '), label);
            kills++;
            history[gen] = await inspect(fx.stateDir, runId);
          } else {
            assert.equal(r.code, 0, `${label}: child failed: ${r.err}`);
            assert.match(r.out, /"status":"awaiting-review"/);
            finished = true;
          }
        }
        assert.ok(finished, 'the run finished');
        assert.equal(kills, CRASHES, 'every planned crash happened');
        // No model call committed before a kill was delivered again by a later process.
        const log = lines(logFile);
        history.forEach((h, gen) => {
          if (!h) return;
          const repeated = log.filter((l) => l.gen > gen && h.nonces.has(l.nonce));
          assert.deepEqual(repeated, [], `seed ${seed}: calls committed before kill ${gen} were not asked again`);
        });
        const db = await openDb({ dir: fx.stateDir });
        try {
          const view = getRunView(db, runId)!;
          assert.equal(view.status, 'awaiting-review');
          assert.deepEqual(view.tasks.map((t) => t.status), ['proposed', 'proposed', 'proposed', 'proposed', 'proposed', 'proposed']);
          // A task finished before a kill was never run again: same attempts, same change.
          for (const h of history) {
            if (!h) continue;
            for (const [id, s] of h.settled) {
              const now = view.tasks.find((t) => t.id === id)!;
              assert.equal(now.attempts, s.attempts, `seed ${seed}: ${id} was not re-run`);
              assert.equal(now.changeId, s.changeId);
            }
          }
          // Nothing lost or duplicated: one change per task, one model_calls row per distinct request.
          const perTask = db.all<{ task_id: string; n: number }>('SELECT task_id, COUNT(*) AS n FROM change_requests WHERE run_id = ? GROUP BY task_id', [runId]);
          assert.deepEqual(perTask.map((r) => r.n), [1, 1, 1, 1, 1, 1]);
          const dup = db.get<{ n: number }>('SELECT COUNT(*) AS n FROM (SELECT cache_key FROM model_calls GROUP BY cache_key HAVING COUNT(*) > 1)')!;
          assert.equal(dup.n, 0);
          assert.equal(db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM attempts WHERE status = 'running'`)!.n, 0);
          // The chain a -> c -> e lands in order with real git.
          const patch = (id: string) => db.get<{ patch: string }>('SELECT patch FROM change_requests WHERE run_id = ? AND task_id = ?', [runId, id])!.patch;
          let tree = `${fx.repo.head()}^{tree}`;
          for (const id of ['a', 'c', 'e']) tree = await applyPatchToTree(fx.repo.dir, tree, patch(id));
        } finally {
          db.close();
        }
      } finally {
        fx.cleanup();
      }
    }
  });
});
