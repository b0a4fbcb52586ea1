import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI_BUNDLE, ROOT, ensureCliBuilt, gitOut, makeSampleRepo } from './cli';

/**
 * Stand-ins for other machines: a bare repository on disk as the shared remote, the
 * coordinator's checkout and one clone per worker, each worker a real `hyperion worker`
 * process (the built CLI) running the `command` agent `test/fixtures/distributed-agent.mjs`.
 */
export const AGENT_SCRIPT = path.join(ROOT, 'test/fixtures/distributed-agent.mjs');

export interface Cluster {
  dir: string;
  remote: string;
  coordinator: string;
  /** A new clone of the remote, for a worker. */
  clone(name: string): string;
  /** A config file outside the repositories with the `cmd` agent and `env` for it. */
  agentConfig(env?: Record<string, string>, extra?: Record<string, unknown>): string;
  /** A TaskRequest file. */
  request(tasks: unknown[]): string;
  dispose(): void;
}

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: 'pipe' });

export function makeCluster(): Cluster {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-dist-'));
  const remote = path.join(dir, 'remote.git');
  git(dir, 'init', '-q', '--bare', '-b', 'main', remote);
  const sample = makeSampleRepo();
  const coordinator = path.join(dir, 'coordinator');
  fs.renameSync(sample, coordinator);
  git(coordinator, 'remote', 'add', 'origin', remote);
  git(coordinator, 'push', '-q', 'origin', 'main');
  let n = 0;
  return {
    dir, remote, coordinator,
    clone(name) {
      const c = path.join(dir, `clone-${name}`);
      git(dir, 'clone', '-q', remote, c);
      return c;
    },
    agentConfig(env = {}, extra = {}) {
      const f = path.join(dir, `config-${n++}.json`);
      fs.writeFileSync(f, JSON.stringify({ agents: { cmd: { command: `${JSON.stringify(process.execPath)} ${JSON.stringify(AGENT_SCRIPT)}`, env } }, maxRetries: 0, ...extra }));
      return f;
    },
    request(tasks) {
      const f = path.join(dir, `request-${n++}.json`);
      fs.writeFileSync(f, JSON.stringify({ goal: 'distributed work', approve: 'all', tasks }));
      return f;
    },
    dispose() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface WorkerProcess {
  name: string;
  child: ChildProcess;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** Starts `hyperion worker` and resolves once it printed its ready line. */
export async function startWorker(o: { name: string; repo: string; redisUrl: string; config: string; lockMs?: number; concurrency?: number; agents?: string; checks?: boolean; env?: Record<string, string> }): Promise<WorkerProcess> {
  ensureCliBuilt();
  const args = [CLI_BUNDLE, 'worker', '--redis', o.redisUrl, '--repo', o.repo, '--config', o.config, '--name', o.name, '--lock-ms', String(o.lockMs ?? 30_000)];
  if (o.concurrency !== undefined) args.push('--concurrency', String(o.concurrency));
  if (o.agents !== undefined) args.push('--agents', o.agents);
  if (o.checks) args.push('--checks');
  const child = spawn(process.execPath, args, { cwd: o.repo, env: { ...process.env, ...o.env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (b) => (err += b));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!err.includes(`worker ${o.name} ready`)) {
    if (child.exitCode !== null) throw new Error(`worker ${o.name} exited: ${err}`);
    if (Date.now() > deadline) throw new Error(`worker ${o.name} did not get ready: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    name: o.name, child, exited,
    stderr: () => err,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Polls `check` until it returns a value, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The coordinator's config: no agent of its own, so a task that ran there would fail with agent/unknown. */
export function coordinatorConfig(c: Cluster): string {
  const f = path.join(c.dir, 'coordinator.json');
  fs.writeFileSync(f, JSON.stringify({ maxRetries: 0 }));
  return f;
}

/** Task ids of the commits on main after the initial one, oldest first (from their trailers). */
export function landedTasks(repo: string): string[] {
  return gitOut(repo, 'log', '--reverse', '--format=%(trailers:key=Hyperion-Task,valueonly)', 'main').split('\n').map((l) => l.trim()).filter(Boolean);
}
