import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Migration } from '../../src/engine/store/types';
export { prng } from './random';

/** A small schema for store tests, independent of the product schema. */
export const TEST_MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'test tables',
    sql: `
CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, txn INTEGER NOT NULL, part INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE counter (name TEXT PRIMARY KEY, v INTEGER NOT NULL);
INSERT INTO counter (name, v) VALUES ('shared', 0);
`,
  },
];

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-'));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

const ROOT = path.resolve(__dirname, '..', '..');

/** Spawns a TypeScript child under Node 24 + tsx; stdout lines go to `onLine`. */
export function spawnTsChild(script: string, args: string[], onLine: (line: string) => void, env?: Record<string, string>): ChildProcess {
  const child = spawn(path.join(ROOT, 'node_modules', '.bin', 'node'), ['--import', 'tsx', path.join(ROOT, 'test', 'support', script), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let buf = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (c: string) => (err += c));
  (child as ChildProcess & { stderrText: () => string }).stderrText = () => err;
  return child;
}

export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

