import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');
/** The bundle users run (`bin.hyperion`); tests spawn it, not the sources through tsx (6–17 s a call). */
export const CLI_BUNDLE = path.join(ROOT, 'dist/cli.js');

/** Newest modification time of the files the CLI bundle is built from. */
function newestSourceMtime(): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  };
  for (const d of ['src/engine', 'src/cli', 'src/protocol']) if (fs.existsSync(path.join(ROOT, d))) walk(path.join(ROOT, d));
  for (const f of ['package-lock.json', 'scripts/build.mjs']) newest = Math.max(newest, fs.statSync(path.join(ROOT, f)).mtimeMs);
  return newest;
}

function bundleIsFresh(): boolean {
  if (!fs.existsSync(CLI_BUNDLE) || !fs.existsSync(path.join(ROOT, 'dist/sql-wasm.wasm'))) return false;
  return fs.statSync(CLI_BUNDLE).mtimeMs >= newestSourceMtime();
}

let ensured = false;
/**
 * Makes sure dist/cli.js is built from the current sources. `npm test` builds before the unit
 * tests, so this is a no-op there; a single test file run after an edit rebuilds (about 3 s).
 * Test files run in parallel, so the build holds a lock folder and the others wait for it.
 * Throws with the build's output when the build fails.
 */
export function ensureCliBuilt(): void {
  if (ensured) return;
  const lock = path.join(ROOT, 'dist/.build-lock');
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + 120_000;
  while (!bundleIsFresh()) {
    let mine = false;
    try {
      fs.mkdirSync(lock);
      mine = true;
    } catch {
      // Another test process builds; a lock older than two minutes was left by a killed one.
      if (Date.now() - fs.statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 120_000) fs.rmSync(lock, { recursive: true, force: true });
    }
    if (mine) {
      try {
        if (!bundleIsFresh()) execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'pipe' });
      } catch (e) {
        const out = e as { stdout?: Buffer; stderr?: Buffer };
        throw new Error(`could not build dist/cli.js for the CLI tests (run "npm run build"):\n${out.stderr?.toString() ?? ''}${out.stdout?.toString() ?? ''}`);
      } finally {
        fs.rmSync(lock, { recursive: true, force: true });
      }
      // esbuild may keep an output's mtime when its content did not change.
      if (!bundleIsFresh()) fs.utimesSync(CLI_BUNDLE, new Date(), new Date());
      break;
    }
    if (Date.now() > deadline) throw new Error('timed out waiting for another process to build dist/cli.js');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  }
  ensured = true;
}

/** A fresh git repository in a temp folder with the demo's sample project committed. */
export function makeSampleRepo(): string {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-cli-'));
  fs.cpSync(path.join(ROOT, 'demo/sample-repo'), repo, { recursive: true });
  const run = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'pipe' });
  run('init', '-q', '-b', 'main');
  run('add', '-A');
  run('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-q', '-m', 'init');
  return repo;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (dist/cli.js, rebuilt first when stale) as a child process. */
export function runCli(args: string[], opts: { cwd: string; env?: Record<string, string | undefined>; timeoutMs?: number }): Promise<CliResult> {
  ensureCliBuilt();
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, OPENAI_API_KEY: undefined, ANTHROPIC_API_KEY: undefined, ...opts.env };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    const child = spawn(process.execPath, [CLI_BUNDLE, ...args], { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

export function gitOut(repo: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: repo, encoding: 'utf8' });
}
