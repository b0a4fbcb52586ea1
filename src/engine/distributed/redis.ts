import Redis from 'ioredis';
import { EngineError } from '../errors';

/**
 * The URL with its password replaced, for logs and error messages: a Redis password must
 * never be printed. Unparsable text is not echoed at all.
 */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable Redis URL)';
  }
}

/**
 * Checks the form of a Redis URL: `redis://` or `rediss://` (TLS) with a host. Throws
 * `distributed/bad-url`. A URL without a password is allowed here (an ACL user may need none
 * on a private network); Redis itself refuses it when it requires one.
 */
export function parseRedisUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new EngineError('distributed/bad-url', 'the Redis URL is not a URL: use redis://:PASSWORD@HOST:PORT (rediss:// for TLS)');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new EngineError('distributed/bad-url', `the Redis URL must start with redis:// or rediss:// (TLS), not ${u.protocol}//`);
  }
  if (!u.hostname) throw new EngineError('distributed/bad-url', `the Redis URL ${redactRedisUrl(url)} names no host`);
  return u;
}

/**
 * BullMQ's connection options for a URL. `maxRetriesPerRequest: null` makes a command wait
 * while ioredis reconnects (Redis restarted) instead of failing: nothing is dropped.
 */
export function bullConnection(url: string): { url: string; maxRetriesPerRequest: null } {
  parseRedisUrl(url);
  return { url, maxRetriesPerRequest: null };
}

/** A plain client (heartbeats, the worker list) that also waits through reconnects. */
export function redisClient(url: string): Redis {
  parseRedisUrl(url);
  const r = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true });
  // Errors while reconnecting are reported by the callers' own commands; an unhandled
  // 'error' event would crash the process.
  r.on('error', () => {});
  return r;
}

/**
 * Connects once and pings, without retrying, so bad settings fail fast with a clear reason
 * instead of a BullMQ client that reconnects forever. Throws `distributed/bad-url`,
 * `distributed/auth` (wrong password or ACL user, or none given when Redis needs one) or
 * `distributed/unreachable`.
 */
export async function checkRedis(url: string, opts: { timeoutMs?: number } = {}): Promise<void> {
  parseRedisUrl(url);
  const shown = redactRedisUrl(url);
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false, connectTimeout: opts.timeoutMs ?? 5000 });
  let last: Error | undefined;
  r.on('error', (e: Error) => {
    last = e;
  });
  try {
    await r.connect();
    await r.ping();
  } catch (e) {
    const reason = last?.message ?? (e as Error).message;
    if (/WRONGPASS|NOAUTH|NOPERM|invalid password/i.test(reason)) {
      throw new EngineError('distributed/auth', `Redis at ${shown} refused the credentials (${reason.split('.')[0].slice(0, 120)}): give the password as redis://:PASSWORD@host:port, or an ACL user as redis://USER:PASSWORD@host:port`, { cause: e });
    }
    throw new EngineError('distributed/unreachable', `Redis at ${shown} could not be reached: ${reason}`, { cause: e });
  } finally {
    r.disconnect();
  }
}
