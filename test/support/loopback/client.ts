import { EngineConfig, type ModelRef } from '../../../src/engine/config';
import { throwIfAborted } from '../../../src/engine/errors';
import { silentLogger, type Logger, type SecretReader } from '../../../src/engine/ports';
import { createModelClient, type ModelCallCache, type ModelCallRecord, type ModelCallResult, type ModelClient } from '../../../src/engine/providers/modelClient';
import type { Sleep } from '../../../src/engine/providers/retry';
import { createProviderRegistry } from '../../../src/engine/providers/router';
import type { LoopbackServer } from './common';

/**
 * Wiring for tests and benchmarks: an EngineConfig pointing the real providers at loopback
 * servers, and a real ModelClient over it. Nothing here is a mock: the SDKs talk HTTP.
 */
export const TEST_KEYS = { openai: 'sk-loopback-openai', anthropic: 'sk-ant-loopback', 'openai-compatible': undefined } as const;

export const testSecrets: SecretReader = { get: async (name) => TEST_KEYS[name] };

export function loopbackConfig(opts: {
  openai?: LoopbackServer;
  anthropic?: LoopbackServer;
  compatible?: LoopbackServer;
  /** Route for every role (`routes.default`). */
  route: ModelRef[];
  overrides?: Partial<Record<string, unknown>>;
}): EngineConfig {
  return EngineConfig.parse({
    providers: {
      openai: { baseUrl: opts.openai?.url },
      anthropic: { baseUrl: opts.anthropic?.url },
      'openai-compatible': { baseUrl: opts.compatible?.url ?? 'http://127.0.0.1:9/v1' },
      recorded: {},
    },
    routes: { default: opts.route },
    timeoutMs: 5000,
    maxRetries: 3,
    ...opts.overrides,
  });
}

/** A sleep that records the requested delays and returns at once (still honours cancel). */
export function recordingSleep(): Sleep & { delays: number[] } {
  const delays: number[] = [];
  const fn = (async (ms: number, signal?: AbortSignal) => {
    delays.push(ms);
    throwIfAborted(signal);
    await new Promise((r) => setImmediate(r));
    throwIfAborted(signal);
  }) as Sleep & { delays: number[] };
  fn.delays = delays;
  return fn;
}

export function memoryCache(): ModelCallCache & { map: Map<string, ModelCallResult> } {
  const map = new Map<string, ModelCallResult>();
  return { map, get: (k) => map.get(k), put: (k, v) => void map.set(k, v) };
}

export function loopbackClient(
  config: EngineConfig,
  opts: { sleep?: Sleep; cache?: ModelCallCache; log?: Logger; onCall?: (r: ModelCallRecord) => void; random?: () => number } = {},
): { client: ModelClient; calls: ModelCallRecord[] } {
  const calls: ModelCallRecord[] = [];
  const log = opts.log ?? silentLogger;
  const registry = createProviderRegistry({ config, secrets: testSecrets, log });
  const client = createModelClient({
    registry,
    config,
    log,
    cache: opts.cache,
    onCall: (r) => {
      calls.push(r);
      opts.onCall?.(r);
    },
    retry: { sleep: opts.sleep ?? recordingSleep(), random: opts.random ?? (() => 0.5) },
  });
  return { client, calls };
}
