// Writes numbered transactions until it is killed at the crash point named by
// HYPERION_CRASH_AT (see store-crash-points.ts), and prints each number after
// transaction() returns, i.e. once the store claims it is durable.
// Args: <dir> <first txn number> <snapshotEveryBytes>
import { openDb } from '../../src/engine/store/db';
import { TEST_MIGRATIONS } from './store-fixtures';
import { crashAtFromEnv } from './store-crash-points';

async function main(): Promise<void> {
  const [dir, firstArg, snapArg] = process.argv.slice(2);
  const crashPoint = crashAtFromEnv();
  if (!crashPoint) throw new Error('HYPERION_CRASH_AT is required');
  const db = await openDb({ dir: dir!, migrations: TEST_MIGRATIONS, snapshotEveryBytes: Number(snapArg), crashPoint });
  process.stdout.write('ready\n');
  // Bounded so a crash point that is never reached ends the child instead of filling the disk.
  for (let n = Number(firstArg); n < Number(firstArg) + 500; n++) {
    db.transaction(() => {
      // Two rows per transaction with a body large enough to span several disk blocks,
      // so a torn append really leaves part of a record.
      const body = `txn-${n}-`.padEnd(3000 + (n % 7) * 500, String.fromCharCode(97 + (n % 26)));
      db.run('INSERT INTO items (txn, part, body) VALUES (?, 1, ?)', [n, body]);
      db.run('INSERT INTO items (txn, part, body) VALUES (?, 2, ?)', [n, body]);
    });
    process.stdout.write(`${n}\n`);
  }
  process.stdout.write('never crashed\n');
}

void main().catch((e) => {
  process.stderr.write(`crash child failed: ${String(e)}\n`);
  process.exit(1);
});
