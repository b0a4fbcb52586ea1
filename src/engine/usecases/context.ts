import type { RunView } from '../api';
import type { EngineConfig } from '../config';
import type { Clock, Logger } from '../ports';
import type { ModelClient } from '../providers/modelClient';
import type { MergeQueue } from '../queue/types';
import type { OnEvent } from '../runs/types';
import type { RunRegistry } from '../schedule/registry';
import type { BackoffOptions } from '../schedule/retry';
import type { Db } from '../store/types';

/**
 * What every use case of the engine shares. The composition root (`engine.ts`) builds one and
 * hands it to the use cases; none of them reaches for a global.
 */
export interface EngineContext {
  db: Db;
  repo: string;
  config: EngineConfig;
  log: Logger;
  clock: Clock;
  onEvent: OnEvent;
  client: ModelClient;
  queue: MergeQueue;
  /** Runs this engine executes right now (cancel and skip reach their model calls through it). */
  registry: RunRegistry;
  /** This engine's run loops, by run id. */
  loops: Map<string, { controller: AbortController; done: Promise<RunView> }>;
  /** Starts (or joins) the run loop of a stored run. */
  startRunLoop(runId: string, parent?: AbortSignal): Promise<RunView>;
  /** Asks the background landing loop for a pass (only when the host lands automatically). */
  kickQueue(): void;
  autoLand: boolean;
  taskBackoff?: BackoffOptions;
}
