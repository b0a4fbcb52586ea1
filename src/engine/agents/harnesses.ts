import type { AgentConfig } from '../config';
import { assertNever } from '../errors';
import { claudeCodeHarness } from './claudeCodeHarness';
import { codexHarness } from './codexHarness';
import { commandHarness } from './commandHarness';
import { copilotHarness } from './copilotHarness';
import type { AgentHarness } from './harness';

/** The harness for one configured agent entry: by its `kind`, or a command line. */
export function harnessFor(name: string, cfg: AgentConfig): AgentHarness {
  if (!('kind' in cfg)) return commandHarness(name, cfg);
  switch (cfg.kind) {
    case 'claude-code':
      return claudeCodeHarness(name, cfg);
    case 'codex':
      return codexHarness(name, cfg);
    case 'copilot':
      return copilotHarness(name, cfg);
    default:
      return assertNever(cfg, 'agent kind');
  }
}
