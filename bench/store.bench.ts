// Durable write cost vs. history size: the store (snapshot + journal) against the naive
// "export the whole database on every write", side by side in one run.
// Run: ./node_modules/.bin/node --import tsx bench/store.bench.ts
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDb } from '../src/engine/store/db';
import { loadSqlJs } from '../src/engine/store/sqljs';
import type { Db } from '../src/engine/store/types';

const SIZES = [1_000, 10_000, 100_000];
const WRITES = 300;
const NAIVE_WRITES = 25;
const INSERT = 'INSERT INTO events (at, actor, kind, run_id, task_id, subject_id, from_state, to_state, reason, data_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';

function eventParams(i: number): (string | number)[] {
  return [1_700_000_000_000 + i, 'agent', 'task/state', `run-${i % 50}`, `t${i % 300}`, `chg-${i}`, 'running', 'proposed', 'patch proposed', JSON.stringify({ files: ['src/a.ts', 'src/b.ts'], n: i })];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function seed(dir: string, n: number): Promise<Db> {
  const db = await openDb({ dir });
  for (let start = 0; start < n; start += 5000) {
    db.transaction(() => {
      for (let i = start; i < Math.min(n, start + 5000); i++) db.run(INSERT, eventParams(i));
    });
  }
  db.checkpoint();
  return db;
}

function storeWrite(db: Db, i: number): number {
  const t0 = process.hrtime.bigint();
  db.transaction(() => db.run(INSERT, eventParams(i)));
  return ms(t0);
}

async function naiveWrites(snapshotFile: string, n: number): Promise<number[]> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database(fs.readFileSync(snapshotFile));
  const dir = path.dirname(snapshotFile);
  const target = path.join(dir, 'naive.sqlite');
  const times: number[] = [];
  for (let k = 0; k < n; k++) {
    const t0 = process.hrtime.bigint();
    db.run('BEGIN');
    db.run(INSERT, eventParams(10_000_000 + k));
    db.run('COMMIT');
    const bytes = db.export();
    const fd = fs.openSync(`${target}.tmp`, 'w');
    fs.writeSync(fd, bytes);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(`${target}.tmp`, target);
    const dfd = fs.openSync(dir, 'r');
    fs.fsyncSync(dfd);
    fs.closeSync(dfd);
    times.push(ms(t0));
  }
  db.close();
  return times;
}

async function main(): Promise<void> {
  console.log(`durable write = one INSERT into events in a transaction, fsynced; median of ${WRITES} (naive: ${NAIVE_WRITES})`);
  console.log(`tmpdir ${os.tmpdir()}, node ${process.version}, ${os.cpus().length} cpus; sizes measured round-robin so drift hits all alike`);
  const dirs = SIZES.map(() => fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-bench-')));
  try {
    const dbs: Db[] = [];
    for (let k = 0; k < SIZES.length; k++) dbs.push(await seed(dirs[k]!, SIZES[k]!));
    const store: number[][] = SIZES.map(() => []);
    for (let w = 0; w < 20; w++) dbs.forEach((db, k) => storeWrite(db, SIZES[k]! + w)); // warm-up
    for (let w = 0; w < WRITES; w++) dbs.forEach((db, k) => store[k]!.push(storeWrite(db, SIZES[k]! + 20 + w)));
    const folds = dbs.map((db) => {
      const t0 = process.hrtime.bigint();
      db.checkpoint();
      const t = ms(t0);
      db.close();
      return t;
    });
    const naive: number[][] = SIZES.map(() => []);
    for (let round = 0; round < NAIVE_WRITES; round += 5) {
      for (let k = 0; k < SIZES.length; k++) naive[k]!.push(...(await naiveWrites(path.join(dirs[k]!, 'hyperion.sqlite'), 5)));
    }
    SIZES.forEach((n, k) => {
      const dbBytes = fs.statSync(path.join(dirs[k]!, 'hyperion.sqlite')).size;
      console.log(
        `${String(n).padStart(7)} events (${(dbBytes / 1024 / 1024).toFixed(1)} MiB): store write ${median(store[k]!).toFixed(3)} ms` +
          ` | naive export-per-write ${median(naive[k]!).toFixed(2)} ms | one journal fold (checkpoint) ${folds[k]!.toFixed(1)} ms`,
      );
    });
    const last = SIZES.length - 1;
    const recordBytes = 200; // about one small INSERT record in the journal
    const writesPerFold = Math.round((4 * 1024 * 1024) / recordBytes);
    console.log(`naive write 100k/1k: ${(median(naive[last]!) / median(naive[0]!)).toFixed(2)}`);
    console.log(`fold amortised at 100k over ~${writesPerFold} writes per 4 MiB of journal: ${((folds[last]! / writesPerFold) * 1000).toFixed(1)} µs/write`);
    console.log(`store write 100k/1k: ${(median(store[last]!) / median(store[0]!)).toFixed(2)}`);
  } finally {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
}

void main();
