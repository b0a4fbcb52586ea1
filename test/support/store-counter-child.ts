// Increments the shared counter N times, each a read-modify-write transaction.
// Args: <dir> <N> <snapshotEveryBytes>
import { openDb } from '../../src/engine/store/db';
import { TEST_MIGRATIONS } from './store-fixtures';

async function main(): Promise<void> {
  const [dir, nArg, snapArg] = process.argv.slice(2);
  const db = await openDb({ dir: dir!, migrations: TEST_MIGRATIONS, snapshotEveryBytes: Number(snapArg), lockTimeoutMs: 30_000 });
  for (let i = 0; i < Number(nArg); i++) {
    db.transaction(() => {
      const row = db.get<{ v: number }>("SELECT v FROM counter WHERE name = 'shared'");
      db.run("UPDATE counter SET v = ? WHERE name = 'shared'", [row!.v + 1]);
    });
    // Reads between writes exercise the lock-free catch-up path.
    db.get("SELECT v FROM counter WHERE name = 'shared'");
  }
  db.close();
  process.stdout.write('done\n');
}

void main().catch((e) => {
  process.stderr.write(`counter child failed: ${String(e)}\n`);
  process.exit(1);
});
