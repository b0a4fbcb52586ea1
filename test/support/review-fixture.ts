import fs from 'node:fs';
import path from 'node:path';
import { after } from 'node:test';
import type { Engine, RunnablePlan } from '../../src/engine/api';
import { EngineConfig } from '../../src/engine/config';
import { createEngine } from '../../src/engine/engine';
import { silentLogger } from '../../src/engine/ports';
import type { ChatProvider, ChatRequest, ChatResponse } from '../../src/engine/providers/types';
import { gitOut, makeSampleRepo } from './cli';
import { answerFor } from './tool-answers';

/**
 * The model for review tests: a function of the request; it IS the model, the SDKs are tested
 * elsewhere. Developer answers are scripted as whole-file actions and sent as tool calls to
 * the tool developer (support/tool-answers.ts).
 */
export class FnModel implements ChatProvider {
  readonly kind = 'recorded' as const;
  readonly calls: ChatRequest[] = [];
  constructor(private readonly answer: (req: ChatRequest) => string) {}
  async chat(req: ChatRequest): Promise<ChatResponse> {
    this.calls.push(req);
    return { ...answerFor(req, this.answer(req)), usage: { inputTokens: 10, outputTokens: 10 }, model: 'fn', provider: 'recorded' };
  }
}

export const finish = (summary: string, files: Record<string, string>) =>
  JSON.stringify({ action: 'finish', summary, files: Object.entries(files).map(([p, content]) => ({ path: p, content })) });

export const lines = (n: number, f: (i: number) => string) => `${Array.from({ length: n }, (_, i) => f(i + 1)).join('\n')}\n`;

/** 30 lines of `notes.txt`, committed at the base. */
export const BASE_NOTES = lines(30, (i) => `note ${i}`);
/** Three edits far apart (lines 3, 15 and 27), so git makes three hunks. */
export const EDITED_NOTES = lines(30, (i) => (i === 3 ? 'NOTE THREE' : i === 15 ? 'NOTE FIFTEEN' : i === 27 ? 'NOTE TWENTY-SEVEN' : `note ${i}`));

const repos: string[] = [];
const engines: Engine[] = [];
after(async () => {
  for (const e of engines) await e.dispose().catch(() => undefined);
  for (const r of repos) fs.rmSync(r, { recursive: true, force: true });
});

/** A sample repository with `notes.txt` committed, and an engine over it answered by `model`. */
export async function reviewSetup(model: FnModel, extra: Record<string, unknown> = {}) {
  const repo = makeSampleRepo();
  repos.push(repo);
  fs.writeFileSync(path.join(repo, 'notes.txt'), BASE_NOTES);
  gitOut(repo, 'add', 'notes.txt');
  gitOut(repo, '-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'notes');
  const config = EngineConfig.parse({ routes: { default: [{ provider: 'recorded', model: 'fn' }] }, maxRetries: 0, ...extra });
  const engine = await createEngine({ repo, config, ports: { log: silentLogger, secrets: { get: async () => undefined } }, providerOverrides: { recorded: model } });
  engines.push(engine);
  return { repo, engine };
}

/** Runs one task to its proposed change and returns it. */
export async function proposeOne(engine: Engine, files = ['notes.txt']) {
  const plan: RunnablePlan = {
    goal: 'edit the notes', rationale: '', confidence: 1, questions: [], assumptions: [],
    tasks: [{ id: 't1', title: 'Edit the notes', type: 'code_gen', prompt: 'edit notes.txt', acceptanceCriteria: [], dependsOn: [], files }],
  };
  const { runId, done } = await engine.startRun(plan);
  await done;
  const [change] = engine.listChanges({ runId });
  return { runId, change: change! };
}
