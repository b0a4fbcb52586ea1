// Runs every benchmark in sequence, each as its own child process, and prints its output.
// Run: npm run bench   (a bench file that does not exist yet is skipped and said so)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
/** In order: cheap and engine-only first, the orchestration run last (~6 minutes: the tool and whole-file developers side by side). */
const BENCHES: Array<{ file: string; nodeArgs?: string[] }> = [
  { file: 'bench/store.bench.ts' },
  { file: 'bench/queue.bench.ts' },
  { file: 'bench/worktree.bench.ts' },
  { file: 'bench/agent-start.bench.ts' },
  { file: 'bench/extension.bench.ts' },
  { file: 'bench/overhead.bench.ts', nodeArgs: ['--expose-gc'] },
  { file: 'bench/distributed.bench.ts' },
  { file: 'bench/orchestration.bench.ts' },
];

function run(file: string, nodeArgs: string[]): Promise<number> {
  const local = path.join(root, 'node_modules', '.bin', 'node');
  const node = fs.existsSync(local) ? local : process.execPath;
  return new Promise((resolve) => {
    const child = spawn(node, [...nodeArgs, '--import', 'tsx', file], { cwd: root, stdio: 'inherit' });
    child.on('error', (e) => {
      process.stderr.write(`could not start ${file}: ${e.message}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

async function main(): Promise<void> {
  const failed: string[] = [];
  for (const b of BENCHES) {
    process.stdout.write(`\n===== ${b.file} =====\n`);
    if (!fs.existsSync(path.join(root, b.file))) {
      process.stdout.write(`(skipped: ${b.file} does not exist yet)\n`);
      continue;
    }
    const t0 = performance.now();
    const code = await run(b.file, b.nodeArgs ?? []);
    process.stdout.write(`----- ${b.file}: exit ${code}, ${((performance.now() - t0) / 1000).toFixed(1)} s -----\n`);
    if (code !== 0) failed.push(b.file);
  }
  if (failed.length > 0) {
    process.stdout.write(`\nfailed: ${failed.join(', ')}\n`);
    process.exit(1);
  }
}

void main();
