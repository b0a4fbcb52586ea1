import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileContent } from './content';

/**
 * The sample repository the orchestration benchmark works on: a small generated TypeScript
 * shop service of ~40 files, committed on `main` in a temp dir. `cleanup()` removes it.
 */
export const SAMPLE_FILES: readonly string[] = [
  'package.json', 'tsconfig.json', 'README.md', '.gitignore',
  ...['cart', 'catalog', 'pricing', 'tax', 'inventory', 'orders', 'users', 'auth', 'payments', 'shipping', 'search', 'reports'].map((m) => `src/${m}.ts`),
  'src/http/server.ts', 'src/http/routes.ts', 'src/http/errors.ts', 'src/db/memory.ts', 'src/db/migrations.ts',
  'src/util/money.ts', 'src/util/ids.ts', 'src/util/log.ts', 'src/util/time.ts',
  ...['cart', 'catalog', 'pricing', 'inventory', 'orders', 'users', 'auth', 'payments'].map((m) => `test/${m}.test.ts`),
  'docs/architecture.md', 'docs/api.md', 'docs/operations.md', 'docs/contributing.md',
];

export interface SampleRepo {
  dir: string;
  files: number;
  cleanup(): void;
}

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 'Bench', GIT_AUTHOR_EMAIL: 'bench@example.com', GIT_COMMITTER_NAME: 'Bench', GIT_COMMITTER_EMAIL: 'bench@example.com', GIT_CONFIG_NOSYSTEM: '1' };

export function git(dir: string, args: string[]): string {
  return execFileSync('git', args, { cwd: dir, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
}

export function makeSampleRepo(): SampleRepo {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-bench-'));
  for (const rel of SAMPLE_FILES) {
    const p = path.join(dir, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    let text: string;
    if (rel === 'package.json') text = `${JSON.stringify({ name: 'shopkit', version: '1.0.0', type: 'module', scripts: { test: 'node --test' } }, null, 2)}\n`;
    else if (rel === 'tsconfig.json') text = `${JSON.stringify({ compilerOptions: { strict: true, module: 'nodenext', target: 'es2022' } }, null, 2)}\n`;
    else if (rel === '.gitignore') text = 'node_modules/\ndist/\n';
    else text = fileContent(rel, 1200 + (rel.length * 97) % 2400);
    fs.writeFileSync(p, text);
  }
  git(dir, ['init', '-q', '-b', 'main']);
  git(dir, ['config', 'commit.gpgsign', 'false']);
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-qm', 'Initial shopkit service']);
  return { dir, files: SAMPLE_FILES.length, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
