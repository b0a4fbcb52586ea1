import type { AgentConfig } from '../config';
import { claudeCodeHarness } from './claudeCodeHarness';
import { codexHarness } from './codexHarness';
import { commandHarness } from './commandHarness';
import type { AgentHarness } from './harness';

/** The harness for one configured agent entry: by its `kind`, or a command line. */
export function harnessFor(name: string, cfg: AgentConfig): AgentHarness {
  if ('kind' in cfg) return cfg.kind === 'claude-code' ? claudeCodeHarness(name, cfg) : codexHarness(name, cfg);
  return commandHarness(name, cfg);
}
