import * as fs from 'node:fs';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { runCli, type CliResult } from './cli';

/** Where each record of a journal file starts and how long it is (head included). */
export function recordSpans(journal: string): Array<{ offset: number; length: number }> {
  const b = fs.readFileSync(journal);
  const spans: Array<{ offset: number; length: number }> = [];
  for (let pos = 16; pos + 12 <= b.length; ) {
    const length = 12 + b.readUInt32LE(pos + 4);
    spans.push({ offset: pos, length });
    pos += length;
  }
  return spans;
}

/** Flips every bit of the byte at `offset`, as a bad disk block or a stray editor would. */
export function flipByte(file: string, offset: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const one = Buffer.alloc(1);
    fs.readSync(fd, one, 0, 1, offset);
    one[0] = one[0]! ^ 0xff;
    fs.writeSync(fd, one, 0, 1, offset);
  } finally {
    fs.closeSync(fd);
  }
}

const ROOT = path.resolve(__dirname, '..', '..');
const BUILT_CLI = path.join(ROOT, 'dist', 'cli.js');

/**
 * Runs the built CLI (`npm test` builds first); from source through tsx when `dist/` is
 * missing, so the file can be run alone before a build.
 */
export function runBuiltCli(args: string[], cwd: string): Promise<CliResult> {
  if (!fs.existsSync(BUILT_CLI)) return runCli(args, { cwd });
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.OPENAI_API_KEY;
    delete env.ANTHROPIC_API_KEY;
    const child = spawn(process.execPath, [BUILT_CLI, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
