import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * A small tmpfs for disk-full and read-only tests. Needs `mount` (root in a sandbox that
 * allows it); `mountTmpfs` returns a reason instead of throwing so tests can skip clearly.
 */
export function mountTmpfs(dir: string, size: string): string | undefined {
  fs.mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (e) {
    return `cannot mount a tmpfs here (${String((e as { stderr?: Buffer }).stderr ?? e).trim() || 'mount failed'})`;
  }
}

export function remount(dir: string, mode: 'ro' | 'rw'): void {
  execFileSync('mount', ['-o', `remount,${mode}`, dir], { stdio: 'pipe' });
}

/** Unmounts if mounted; never throws (used in `after`). */
export function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    } catch {
      // not mounted
    }
  }
}

/** Fills the file system holding `dir` until ENOSPC, synchronously. Returns the filler's path. */
export function fillDisk(dir: string): string {
  const file = path.join(dir, 'filler');
  const fd = fs.openSync(file, 'a');
  try {
    for (const size of [64 * 1024, 4096, 1]) {
      const buf = Buffer.alloc(size, 0x61);
      for (;;) {
        try {
          fs.writeSync(fd, buf);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw e;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

/** Copies the store's files (not the lock) out of `dir`, as a backup tool would. */
export function copyStoreFiles(dir: string, to: string): string[] {
  fs.mkdirSync(to, { recursive: true });
  const copied: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (name === 'lock' || name === 'lock.break' || name === 'filler') continue;
    const from = path.join(dir, name);
    if (!fs.statSync(from).isFile()) continue;
    fs.copyFileSync(from, path.join(to, name));
    copied.push(name);
  }
  return copied;
}
