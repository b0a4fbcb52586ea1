import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { HarnessInput } from './harness';

/**
 * Runs `body` with the prompt written to `<scratchDir>/prompt.md` and the transcript written
 * beside it afterwards, so a failed task's kept worktree shows what the agent was told and
 * what it said (the scratch folder is removed with the worktree on success).
 */
export async function writeScratch<T extends { transcript: string }>(input: HarnessInput, body: () => Promise<T>, prompt: string): Promise<T> {
  await writeFile(path.join(input.scratchDir, 'prompt.md'), prompt);
  const res = await body().catch(async (e: unknown) => {
    await writeFile(path.join(input.scratchDir, 'transcript.log'), `${e instanceof Error ? e.message : String(e)}\n`).catch(() => undefined);
    throw e;
  });
  await writeFile(path.join(input.scratchDir, 'transcript.log'), res.transcript).catch(() => undefined);
  return res;
}
