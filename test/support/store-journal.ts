import * as fs from 'node:fs';
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

/** The built CLI (`dist/cli.js`), as a user runs it. */
export function runBuiltCli(args: string[], cwd: string): Promise<CliResult> {
  return runCli(args, { cwd });
}
