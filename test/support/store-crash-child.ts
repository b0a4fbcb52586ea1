// Writes numbered transactions forever (until killed) and prints each number after
// transaction() returns, i.e. once the store claims it is durable.
// Args: <dir> <first txn number> <snapshotEveryBytes>
import { openDb } from '../../src/engine/store/db';
import { TEST_MIGRATIONS } from './store-fixtures';

async function main(): Promise<void> {
  const [dir, firstArg, snapArg] = process.argv.slice(2);
  const db = await openDb({ dir: dir!, migrations: TEST_MIGRATIONS, snapshotEveryBytes: Number(snapArg) });
  process.stdout.write('ready\n');
  for (let n = Number(firstArg); ; n++) {
    db.transaction(() => {
      // Two rows per transaction with a body large enough to span several disk blocks,
      // so a kill can land in the middle of the record.
      const body = `txn-${n}-`.padEnd(3000 + (n % 7) * 500, String.fromCharCode(97 + (n % 26)));
      db.run('INSERT INTO items (txn, part, body) VALUES (?, 1, ?)', [n, body]);
      db.run('INSERT INTO items (txn, part, body) VALUES (?, 2, ?)', [n, body]);
    });
    process.stdout.write(`${n}\n`);
  }
}

void main().catch((e) => {
  process.stderr.write(`crash child failed: ${String(e)}\n`);
  process.exit(1);
});
