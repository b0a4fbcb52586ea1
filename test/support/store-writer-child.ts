// One of several processes writing to one store while a lock file is deleted under them.
// Each transaction inserts a row named after this writer and bumps the shared counter; the
// number is printed (`ok <n>`) once transaction() returns, i.e. once it is reported saved.
// Writes until <dir>/stop exists (at least <min> transactions), then closes.
//
// With HYPERION_STEAL_LOCK_AT=<n>, this writer plays the user who deletes the lock: at the
// `before-append` crash point of its n-th transaction it deletes the lock file it holds, waits
// until another writer has taken the lock and appended a record, then lets the write go on.
// It prints `theft <n> <outcome>` and exits 3 on store/lock-lost.
// Args: <dir> <writer name> <min>
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openDb } from '../../src/engine/store/db';
import { isEngineError } from '../../src/engine/errors';
import { sleepSync } from '../../src/engine/store/lock';
import { TEST_MIGRATIONS } from './store-fixtures';

const [dir, name, minArg] = process.argv.slice(2) as [string, string, string];
const stealAt = Number(process.env.HYPERION_STEAL_LOCK_AT ?? 0);
const lockFile = path.join(dir, 'lock');
const journal = path.join(dir, 'journal');
const say = (line: string) => fs.writeSync(1, `${line}\n`);

/** Polls a condition with a generous deadline (a safety net, not a timing assumption). */
function waitFor(what: string, ok: () => boolean): void {
  const deadline = Date.now() + 30_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    sleepSync(1);
  }
}

async function main(): Promise<void> {
  let appends = 0;
  const db = await openDb({
    dir,
    migrations: TEST_MIGRATIONS,
    snapshotEveryBytes: 1 << 30,
    lockTimeoutMs: 30_000,
    crashPoint: (point) => {
      if (point !== 'before-append' || ++appends !== stealAt) return;
      const size = fs.statSync(journal).size;
      fs.rmSync(lockFile);
      say('stole');
      waitFor('another writer to take the lock and append', () => fs.existsSync(lockFile) && fs.statSync(journal).size > size);
    },
  });
  waitFor('the start signal', () => fs.existsSync(path.join(dir, 'go')));
  for (let n = 1; n <= Number(minArg) || !fs.existsSync(path.join(dir, 'stop')); n++) {
    try {
      db.transaction(() => {
        db.run('INSERT INTO items (txn, part, body) VALUES (?, 1, ?)', [n, name]);
        const v = db.get<{ v: number }>("SELECT v FROM counter WHERE name = 'shared'")!.v;
        db.run("UPDATE counter SET v = ? WHERE name = 'shared'", [v + 1]);
      });
    } catch (e) {
      if (!isEngineError(e, 'store/lock-lost')) throw e;
      say(`theft ${n} ${String(e.details?.stage)}`);
      process.stderr.write(`${e.message}\n`);
      // Once lost, every later write is refused too: the process stops writing.
      try {
        db.run('INSERT INTO items (txn, part, body) VALUES (?, 1, ?)', [-1, name]);
        say('wrote-after-loss');
      } catch (again) {
        if (!isEngineError(again, 'store/lock-lost')) throw again;
      }
      process.exit(3);
    }
    say(`ok ${n}`);
    if (n === stealAt) say(`theft ${n} unnoticed`);
  }
  db.close();
}

void main().catch((e) => {
  process.stderr.write(`writer ${name} failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
