import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Test helpers: real git repositories in temp dirs. Synchronous on purpose, for brevity in tests. */

export function sh(cwd: string, args: string[], input?: string): string {
  return execFileSync('git', args, {
    cwd,
    input,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 'test@example.com',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 'test@example.com',
      GIT_CONFIG_NOSYSTEM: '1',
    },
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

export interface TempRepo {
  dir: string;
  write(rel: string, content: string): void;
  read(rel: string): string;
  commitAll(message: string): string;
  head(): string;
  cleanup(): void;
}

/** A fresh repo on branch `main` with the given files committed. */
export function makeRepo(files: Record<string, string> = { 'README.md': 'hello\n' }): TempRepo {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-'));
  sh(dir, ['init', '-q', '-b', 'main']);
  sh(dir, ['config', 'user.name', 'Test']);
  sh(dir, ['config', 'user.email', 'test@example.com']);
  sh(dir, ['config', 'commit.gpgsign', 'false']);
  const repo: TempRepo = {
    dir,
    write(rel, content) {
      const p = path.join(dir, rel);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, content);
    },
    read(rel) {
      return fs.readFileSync(path.join(dir, rel), 'utf8');
    },
    commitAll(message) {
      sh(dir, ['add', '-A']);
      sh(dir, ['commit', '-q', '--allow-empty', '-m', message]);
      return repo.head();
    },
    head() {
      return sh(dir, ['rev-parse', 'HEAD']).trim();
    },
    cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  for (const [rel, content] of Object.entries(files)) repo.write(rel, content);
  repo.commitAll('initial');
  return repo;
}

/** A unified diff (a/ b/ prefixes) that replaces the whole content of `rel`. */
export function filePatch(rel: string, before: string | null, after: string | null): string {
  const lines = (s: string) => (s === '' ? [] : s.replace(/\n$/, '').split('\n'));
  const a = before === null ? [] : lines(before);
  const b = after === null ? [] : lines(after);
  const head: string[] = [`diff --git a/${rel} b/${rel}`];
  if (before === null) head.push('new file mode 100644', '--- /dev/null', `+++ b/${rel}`);
  else if (after === null) head.push('deleted file mode 100644', `--- a/${rel}`, '+++ /dev/null');
  else head.push(`--- a/${rel}`, `+++ b/${rel}`);
  const hunk = `@@ -${a.length === 0 ? 0 : 1},${a.length} +${b.length === 0 ? 0 : 1},${b.length} @@`;
  return [...head, hunk, ...a.map((l) => `-${l}`), ...b.map((l) => `+${l}`)].join('\n') + '\n';
}
