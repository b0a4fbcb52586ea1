import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';

/**
 * A real redis-server for the distributed tests, from Debian's `redis-server` package. When
 * it is missing the package is installed (as root, as CI runs), never skipped: a test that
 * needs Redis and cannot get it fails with the reason.
 */
export function ensureRedisServer(): string {
  const found = () => {
    try {
      return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  let bin = found();
  if (bin) return bin;
  if (process.getuid?.() !== 0) throw new Error('redis-server is missing and this user cannot install it: run "sudo apt-get install -y redis-server"');
  // Test files run in parallel: one installs while the others wait for the lock (flock here,
  // dpkg's own lock timeout for any other apt user).
  const install = 'command -v redis-server >/dev/null || { apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq redis-server; }';
  try {
    execFileSync('flock', [path.join(os.tmpdir(), 'hyperion-redis-install.lock'), 'sh', '-c', install], { stdio: 'pipe', timeout: 900_000 });
  } catch (e) {
    const out = e as { stderr?: Buffer; message: string };
    throw new Error(`could not install redis-server with apt-get: ${out.stderr?.toString().slice(-2000) || out.message}`);
  }
  bin = found();
  if (!bin) throw new Error('apt-get installed redis-server, but it is not on PATH');
  return bin;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RedisHandle {
  /** With the password: redis://:PASSWORD@127.0.0.1:PORT */
  url: string;
  port: number;
  password: string;
  /** Stops the server (SIGTERM; its append-only file keeps the data). */
  stop(): Promise<void>;
  /** Starts it again on the same port and folder. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  dispose(): Promise<void>;
}

/**
 * Starts redis-server on a free loopback port, with a password and an append-only file in a
 * temp folder (so a restart loses nothing, as a production Redis with persistence).
 * Resolves once it answers PING.
 */
export async function startRedis(): Promise<RedisHandle> {
  const bin = ensureRedisServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-redis-'));
  const port = await freePort();
  const password = `pw-${process.pid}-${port}`;
  let child: ChildProcess | undefined;
  const url = `redis://:${password}@127.0.0.1:${port}`;
  const start = async () => {
    child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', password, '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--daemonize', 'no', '--logfile', path.join(dir, 'redis.log')], { stdio: 'ignore' });
    const deadline = Date.now() + 20_000;
    for (;;) {
      const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
      r.on('error', () => {});
      try {
        await r.connect();
        if ((await r.ping()) === 'PONG') return;
      } catch {
        if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port}: ${fs.readFileSync(path.join(dir, 'redis.log'), 'utf8').slice(-2000)}`);
        await new Promise((res) => setTimeout(res, 50));
      } finally {
        r.disconnect();
      }
    }
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((res) => c.once('exit', res));
    c.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    url, port, password, start, stop,
    async dispose() {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
