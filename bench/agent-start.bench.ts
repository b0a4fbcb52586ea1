/**
 * Agent start benchmark (issue 10). Run: ./node_modules/.bin/node --import tsx bench/agent-start.bench.ts
 *
 * The real Claude Code, Codex and Copilot CLIs (scripts/agents-setup.sh installs the pinned
 * versions), started with the command lines Hyperion's harnesses build (`claudeArgs`,
 * `codexArgs`, `copilotArgs`; Copilot in its bring-your-own-key mode, so no GitHub login) in a
 * small git repository, each pointed at a loopback server: the time from spawn to the server
 * receiving the agent's first model request (`POST …/messages` or `POST …/responses`). The
 * agent is killed (its process group) as soon as that request arrives. The three alternate,
 * ROUNDS each; medians and ranges are printed side by side.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { claudeArgs } from '../src/engine/agents/claudeCodeHarness';
import { codexArgs } from '../src/engine/agents/codexHarness';
import { copilotArgs } from '../src/engine/agents/copilotHarness';
import { killGroup } from '../src/engine/agents/processRun';
import { machineLine } from './support/machine';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const root = path.join(__dirname, '..');

/** A loopback server that resolves `first` with the time of the first model request. */
async function loopback(): Promise<{ url: string; next(): Promise<{ at: number; path: string }>; close(): void }> {
  let waiter: ((v: { at: number; path: string }) => void) | undefined;
  const server = http.createServer((req, res) => {
    const at = performance.now();
    if (req.method === 'POST' && /\/(messages|responses)(\?|$)/.test(req.url ?? '')) waiter?.({ at, path: req.url ?? '' });
    req.resume();
    res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"type":"overloaded_error","message":"bench"}}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    next: () => new Promise((r) => (waiter = r)),
    close: () => server.close(),
  };
}

function agents(): { claude: string; codex: string; copilot: string; cache: string } {
  const out = execFileSync('sh', [path.join(root, 'scripts/agents-setup.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const [claude, codex, copilot] = out.trim().split('\n');
  const cache = process.env.HYPERION_AGENTS_CACHE ?? path.join(os.homedir(), '.cache/hyperion-agents');
  return { claude: claude!, codex: codex!, copilot: copilot!, cache };
}

async function once(file: string, args: string[], env: NodeJS.ProcessEnv, cwd: string, server: Awaited<ReturnType<typeof loopback>>): Promise<number> {
  const first = server.next();
  const t0 = performance.now();
  const child = spawn(file, args, { cwd, env, detached: true, stdio: ['ignore', 'ignore', 'ignore'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${path.basename(file)} sent no model request in 120 s`)), 120_000).unref());
  try {
    const { at } = await Promise.race([first, timeout]);
    return at - t0;
  } finally {
    if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
    await exited;
    // The rest of the group dies a moment later; until then it may still write into its home.
    for (let i = 0; i < 100 && child.pid !== undefined && groupLeft(child.pid); i++) await new Promise((r) => setTimeout(r, 20));
  }
}

function groupLeft(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const range = (xs: number[]) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;

async function main(): Promise<void> {
  const { claude, codex, copilot, cache } = agents();
  process.stdout.write(`${machineLine()}\n${ROUNDS} rounds, Claude Code, Codex and Copilot alternating\n`);
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-bench-agent-'));
  fs.writeFileSync(path.join(repo, 'README.md'), 'hello\n');
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: repo });
  execFileSync('git', ['add', '-A'], { cwd: repo });
  execFileSync('git', ['-c', 'user.email=b@x', '-c', 'user.name=b', 'commit', '-q', '-m', 'init'], { cwd: repo });
  // Each agent keeps its state in a folder of its own (Codex will not use one under /tmp).
  const claudeHome = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-bench-claude-'));
  const codexHome = fs.mkdtempSync(path.join(cache, 'bench-codex-home-'));
  const copilotHome = fs.mkdtempSync(path.join(cache, 'bench-copilot-home-'));
  const server = await loopback();
  const prompt = 'Add a line to README.md.';
  const claudeEnv = { ...process.env, ANTHROPIC_BASE_URL: server.url, ANTHROPIC_API_KEY: 'x', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', DISABLE_AUTOUPDATER: '1', CLAUDE_CONFIG_DIR: claudeHome };
  const codexEnv = { ...process.env, CODEX_HOME: codexHome, BENCH_KEY: 'x' };
  const cArgs = claudeArgs(prompt, { kind: 'claude-code' }, 'claude-sonnet-4-5');
  const copilotEnv = { ...process.env, HOME: copilotHome, COPILOT_PROVIDER_BASE_URL: server.url, COPILOT_PROVIDER_TYPE: 'anthropic', COPILOT_PROVIDER_API_KEY: 'x' };
  const pArgs = copilotArgs(prompt, { kind: 'copilot' }, 'claude-sonnet-4');
  const xArgs = codexArgs(prompt, { kind: 'codex', provider: { baseUrl: `${server.url}/v1`, envKey: 'BENCH_KEY' } }, 'gpt-5');
  const c: number[] = [];
  const x: number[] = [];
  const p: number[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      c.push(await once(claude, cArgs, claudeEnv, repo, server));
      x.push(await once(codex, xArgs, codexEnv, repo, server));
      p.push(await once(copilot, pArgs, copilotEnv, repo, server));
    }
  } finally {
    server.close();
    for (const d of [repo, claudeHome, codexHome, copilotHome]) fs.rmSync(d, { recursive: true, force: true });
  }
  process.stdout.write(`Claude Code ${execFileSync(claude, ['--version'], { encoding: 'utf8' }).trim()}: spawn to first model request median ${median(c).toFixed(0)} ms (${range(c)})\n`);
  process.stdout.write(`Codex ${execFileSync(codex, ['--version'], { encoding: 'utf8' }).trim()}: spawn to first model request median ${median(x).toFixed(0)} ms (${range(x)})\n`);
  process.stdout.write(`Copilot ${execFileSync(copilot, ['--version'], { encoding: 'utf8', env: copilotEnv }).trim().split('\n')[0]}: spawn to first model request median ${median(p).toFixed(0)} ms (${range(p)})\n`);
  process.stdout.write(`agent-start claude/codex: ${(median(c) / median(x)).toFixed(2)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
