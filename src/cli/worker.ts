import os from 'node:os';
import type { WorkerView } from '../engine/api';
import { checkRedis } from '../engine/distributed/redis';
import { runWorker } from '../engine/distributed/worker';
import { listWorkers } from '../engine/distributed/workerRegistry';
import { EngineError } from '../engine/errors';
import { git } from '../engine/git/exec';
import { loadCliConfig, type EngineFlags } from './openEngine';

export interface WorkerFlags extends EngineFlags {
  concurrency?: string;
  agents?: string;
  name?: string;
  remote?: string;
  'lock-ms'?: string;
  checks?: boolean;
}

function wholeNumber(flag: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new EngineError('usage/flag', `--${flag} must be a whole number from ${min} to ${max}, not "${v}"`);
  return n;
}

/** `--redis`, else the config's `distributed.redisUrl`, else HYPERION_REDIS_URL. Throws `usage/flag`. */
function redisUrlOf(flags: EngineFlags, configured: string | undefined): string {
  const url = flags.redis ?? configured ?? (process.env.HYPERION_REDIS_URL?.trim() || undefined);
  if (url === undefined) throw new EngineError('usage/flag', 'give the Redis URL with --redis redis://:PASSWORD@HOST:PORT (or set distributed.redisUrl, or HYPERION_REDIS_URL)');
  return url;
}

/**
 * `hyperion worker`: runs agent tasks from Redis until SIGINT or SIGTERM, then finishes the
 * tasks it holds and exits. Prints one "ready" line on stderr once it listens.
 */
export async function workerCommand(flags: WorkerFlags, signal: AbortSignal): Promise<void> {
  const { repo: given, config, log } = await loadCliConfig(flags, { requireProvider: false });
  const redisUrl = redisUrlOf(flags, config.distributed?.redisUrl);
  // Worktrees and fetched refs belong to the clone, whichever folder of it --repo named.
  const repo = (await git(['rev-parse', '--show-toplevel'], { cwd: given })).stdout.trim();
  const agents = flags.agents?.split(',').map((a) => a.trim()).filter(Boolean) ?? (flags.checks ? Object.keys(config.agents ?? {}) : undefined);
  if (agents !== undefined && agents.length === 0 && !flags.checks) throw new EngineError('usage/flag', '--agents must name at least one configured agent');
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  signal.addEventListener('abort', onSignal, { once: true });
  process.once('SIGTERM', onSignal);
  try {
    await runWorker({
      redisUrl, repo, config, agents, log, signal: stop.signal,
      concurrency: wholeNumber('concurrency', flags.concurrency, 1, 64),
      lockMs: wholeNumber('lock-ms', flags['lock-ms'], 1000, 3_600_000),
      name: flags.name ?? `${os.hostname()}-${process.pid}`,
      remote: flags.remote ?? config.distributed?.remote,
      checks: flags.checks === true,
      onReady: (w) => process.stderr.write(`hyperion: worker ${w.name} ready (agents ${w.agents.join(', ') || 'none'}${w.checks ? ', checks' : ''}, concurrency ${w.concurrency})\n`),
    });
  } finally {
    signal.removeEventListener('abort', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** `hyperion workers`: the live workers. */
export async function workersCommand(flags: EngineFlags): Promise<WorkerView[]> {
  const { config } = await loadCliConfig(flags, { requireProvider: false });
  const url = redisUrlOf(flags, config.distributed?.redisUrl);
  await checkRedis(url);
  return listWorkers(url);
}

export function printWorkers(workers: WorkerView[], now: number): void {
  if (workers.length === 0) {
    process.stdout.write('No worker is connected.\n');
    return;
  }
  const rows = workers.map((w) => [
    w.name, w.host, w.running.length > 0 ? w.running.map((t) => `${t.runId}/${t.taskId}`).join(', ') : 'idle', `${Math.max(0, Math.round((now - w.heartbeatAt) / 1000))} s ago`, w.agents.join(','),
  ]);
  const head = ['NAME', 'HOST', 'CURRENT TASK', 'LAST HEARTBEAT', 'AGENTS'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [head, ...rows]) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()}\n`);
}
