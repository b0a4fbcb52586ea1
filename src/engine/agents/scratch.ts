import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { HarnessInput } from './harness';

/**
 * Writes the task's prompt to `<scratchDir>/prompt.md` (outside the worktree, so it is never
 * part of the captured change; kept beside a failed task's worktree with `transcript.log`,
 * which `runAgentProcess` writes) and returns its path.
 */
export async function writePrompt(input: HarnessInput, prompt: string): Promise<string> {
  const file = path.join(input.scratchDir, 'prompt.md');
  await writeFile(file, prompt);
  return file;
}
