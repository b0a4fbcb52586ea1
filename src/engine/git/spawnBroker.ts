import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Starts processes (git) from a small helper process instead of from the engine's own.
 *
 * Why: `child_process.spawn` forks the calling process, and the fork copies the caller's page
 * tables while the event loop waits. In a process holding sql.js, two model SDKs and a VS Code
 * extension host (hundreds of MB resident), one spawn blocked the loop for 10–20 ms on the
 * shared 2-core box, and a task spawns git about eight times, so eight tasks running at once
 * mostly waited for each other's forks. The helper is a bare `node -e` process (tens of MB):
 * its forks are cheap and block only itself. The engine's side of a call is one IPC message.
 *
 * Results are exactly what a direct spawn gives: stdout as bytes, stderr, the exit code (-1
 * when killed by a signal, as after a timeout). Until the helper says it is ready, and for
 * good if it cannot be started, calls spawn directly, so no call waits for the helper to boot
 * and a host without a usable `process.execPath` still works. A helper that dies fails the
 * calls it was running with `spawn-failed` (they may have had effects, so they are not
 * repeated) and the next call starts a new one. Set `HYPERION_GIT_SPAWN=direct` to turn it off.
 */

export interface SpawnRequest {
  cmd: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  input?: string | Buffer;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export type SpawnOutcome =
  | { kind: 'exited'; stdout: Buffer; stderr: Buffer; code: number }
  | { kind: 'aborted' }
  | { kind: 'spawn-failed'; message: string };

/** Runs in the helper. Plain JavaScript: it must not depend on the engine's loader (tsx, the bundle). */
const HELPER_SOURCE = `
const { spawn } = require('node:child_process');
const running = new Map();
const send = (m) => { try { process.send(m); } catch {} };
process.on('message', (m) => {
  if (m.t === 'kill') { const c = running.get(m.id); if (c) c.kill(); return; }
  let done = false;
  const finish = (r) => { if (done) return; done = true; clearTimeout(timer); running.delete(m.id); send(Object.assign({ id: m.id }, r)); };
  let child;
  try {
    child = spawn(m.cmd, m.args, { cwd: m.cwd, env: m.env, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) { finish({ error: String(e && e.message || e) }); return; }
  running.set(m.id, child);
  const timer = m.timeoutMs ? setTimeout(() => child.kill(), m.timeoutMs) : undefined;
  const out = []; const err = [];
  child.stdout.on('data', (b) => out.push(b));
  child.stderr.on('data', (b) => err.push(b));
  child.on('error', (e) => finish({ error: String(e && e.message || e) }));
  child.on('close', (code) => finish({ code: code === null ? -1 : code, stdout: Buffer.concat(out), stderr: Buffer.concat(err) }));
  child.stdin.on('error', () => {});
  if (m.input !== undefined) child.stdin.end(m.input); else child.stdin.end();
});
process.on('disconnect', () => { for (const c of running.values()) c.kill(); process.exit(0); });
send({ ready: true });
`;

interface Pending {
  resolve(o: SpawnOutcome): void;
}

type HelperMessage = { ready: true } | { id: number; error: string } | { id: number; code: number; stdout: Uint8Array; stderr: Uint8Array };

const bytes = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

class Broker {
  private helper: ChildProcess | undefined;
  private ready = false;
  private broken = process.env.HYPERION_GIT_SPAWN === 'direct';
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Calls that went through the helper (tests check that it is used). */
  helperCalls = 0;

  get pid(): number | undefined {
    return this.ready ? this.helper?.pid : undefined;
  }

  run(req: SpawnRequest): Promise<SpawnOutcome> {
    if (req.signal?.aborted) return Promise.resolve({ kind: 'aborted' });
    if (this.broken) return spawnDirect(req);
    this.start();
    if (!this.ready) return spawnDirect(req);
    return this.viaHelper(req);
  }

  private viaHelper(req: SpawnRequest): Promise<SpawnOutcome> {
    const helper = this.helper!;
    const id = this.nextId++;
    this.helperCalls++;
    return new Promise<SpawnOutcome>((resolve) => {
      const onAbort = () => {
        if (!this.pending.delete(id)) return;
        this.idleCheck();
        try {
          helper.send({ t: 'kill', id });
        } catch {
          // the helper is gone; nothing is running for this call
        }
        resolve({ kind: 'aborted' });
      };
      this.pending.set(id, {
        resolve: (o) => {
          req.signal?.removeEventListener('abort', onAbort);
          resolve(o);
        },
      });
      req.signal?.addEventListener('abort', onAbort, { once: true });
      if (this.pending.size === 1) {
        // Busy, the helper keeps the host alive until its answers (or its exit) arrive.
        helper.ref();
        helper.channel?.ref();
      }
      try {
        helper.send({ id, cmd: req.cmd, args: req.args, cwd: req.cwd, env: req.env, input: req.input, timeoutMs: req.timeoutMs });
      } catch (e) {
        this.settle(id, { kind: 'spawn-failed', message: `the git helper process is gone: ${String((e as Error).message ?? e)}` });
      }
    });
  }

  private settle(id: number, o: SpawnOutcome): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    this.idleCheck();
    p.resolve(o);
  }

  /** Idle, the helper must not keep the host process alive. */
  private idleCheck(): void {
    if (this.pending.size > 0) return;
    this.helper?.unref();
    this.helper?.channel?.unref();
  }

  private start(): void {
    if (this.helper) return;
    let child: ChildProcess;
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, ELECTRON_RUN_AS_NODE: '1' };
      delete env.NODE_OPTIONS;
      child = spawn(process.execPath, ['-e', HELPER_SOURCE], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], serialization: 'advanced', env, windowsHide: true });
    } catch {
      this.broken = true;
      return;
    }
    this.helper = child;
    child.unref();
    child.channel?.unref();
    child.on('message', (m: HelperMessage) => {
      if ('ready' in m) {
        this.ready = true;
        return;
      }
      if ('error' in m) this.settle(m.id, { kind: 'spawn-failed', message: m.error });
      else this.settle(m.id, { kind: 'exited', code: m.code, stdout: bytes(m.stdout), stderr: bytes(m.stderr) });
    });
    child.on('error', () => {
      // Never started (no usable node at process.execPath): spawn directly from now on.
      if (!this.ready) this.broken = true;
      this.gone(child);
    });
    child.on('exit', () => this.gone(child));
  }

  private gone(child: ChildProcess): void {
    if (this.helper !== child) return;
    this.helper = undefined;
    this.ready = false;
    for (const id of [...this.pending.keys()]) this.settle(id, { kind: 'spawn-failed', message: 'the git helper process exited' });
  }
}

/** A spawn from this process: the fallback, and the way until the helper is ready. */
function spawnDirect(req: SpawnRequest): Promise<SpawnOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (o: SpawnOutcome) => {
      if (!settled) {
        settled = true;
        resolve(o);
      }
    };
    const child = spawn(req.cmd, req.args, { cwd: req.cwd, env: req.env, signal: req.signal, timeout: req.timeoutMs, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => finish((e as { name?: string }).name === 'AbortError' ? { kind: 'aborted' } : { kind: 'spawn-failed', message: e.message }));
    child.on('close', (code) => finish({ kind: 'exited', stdout: Buffer.concat(out), stderr: Buffer.concat(err), code: code ?? -1 }));
    child.stdin.on('error', () => {});
    if (req.input !== undefined) child.stdin.end(req.input);
    else child.stdin.end();
  });
}

const broker = new Broker();

/** Runs `req.cmd` to its end (see the file comment). Never rejects: the outcome says what happened. */
export function runProcess(req: SpawnRequest): Promise<SpawnOutcome> {
  return broker.run(req);
}

/** How many calls went through the helper so far (for tests). */
export function helperCallCount(): number {
  return broker.helperCalls;
}

/** The helper's pid while it runs (for tests that kill it). */
export function helperPid(): number | undefined {
  return broker.pid;
}
