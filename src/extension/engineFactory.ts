import type { Engine } from '../engine/api';
import type { EngineConfig } from '../engine/config';
import type { Clock, Logger, SecretReader, UserPrompt } from '../engine/ports';
import type { LanguageModelPort } from '../engine/providers/types';

export interface EngineDeps {
  repo: string;
  config: EngineConfig;
  ports: { log: Logger; clock?: Clock; secrets: SecretReader; ask?: UserPrompt; lm?: LanguageModelPort };
  /** True when the editor holds unsaved edits to a repo-relative path (the queue will not land over them). */
  isPathDirtyInEditor?: (path: string) => boolean;
}

/**
 * The one place the extension reaches the engine's composition root. The import is
 * dynamic so activation stays cheap: the engine (and sql.js) load on first use. In the
 * editor, interrupted runs resume and approved changes land in the background, and runs
 * written by another process (a CLI run) show without a reload.
 */
export async function openEngine(deps: EngineDeps): Promise<Engine> {
  const { createEngine } = await import('../engine/engine');
  return createEngine({ ...deps, resumeRuns: true, autoLand: true, watchStore: true });
}
