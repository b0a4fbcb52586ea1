/**
 * A child process that runs the merge queue over an existing store and repo and kills
 * itself with SIGKILL at a named crash point, to test crash safety for real.
 *
 * argv: <stateDir> <repoDir> <crashPoint> <occurrence> <workers>
 * At `mid-worktree-update` it first leaves an index.lock behind, as a git killed while
 * updating the index would.
 */
import fs from 'node:fs';
import path from 'node:path';
import { defaultConfig } from '../../src/engine/config';
import { silentLogger, systemClock } from '../../src/engine/ports';
import { createMergeQueue } from '../../src/engine/queue/mergeQueue';
import { openDb } from '../../src/engine/store/db';

async function main(): Promise<void> {
  const [stateDir, repo, point, occurrence, workers] = process.argv.slice(2);
  const db = await openDb({ dir: stateDir });
  let seen = 0;
  const queue = createMergeQueue({
    db, repo, config: { ...defaultConfig(), queueWorkers: Number(workers) }, log: silentLogger, clock: systemClock, workerId: 'host',
    crashPoint: (name) => {
      if (name !== point || ++seen !== Number(occurrence)) return;
      if (name === 'mid-worktree-update') fs.writeFileSync(path.join(repo, '.git', 'index.lock'), '');
      process.kill(process.pid, 'SIGKILL');
    },
  });
  await queue.recover();
  await queue.runUntilIdle();
  db.close();
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
