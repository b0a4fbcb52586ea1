import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Engine, RunnablePlan } from '../../src/engine/api';
import { checkPatchPolicy } from '../../src/engine/changes/policy';
import { repairPatch } from '../../src/engine/changes/repair';
import { EngineConfig } from '../../src/engine/config';
import { createEngine } from '../../src/engine/engine';
import { silentLogger } from '../../src/engine/ports';
import type { ChatProvider, ChatRequest, ChatResponse } from '../../src/engine/providers/types';
import { landablePatch } from '../../src/engine/queue/prepare';
import { checkPolicy } from '../../src/engine/schedule/policy';
import { makeRepo, sh } from '../support/queue-repo';
import { answerFor } from '../support/tool-answers';

/**
 * Large hunks never crash (issue 9, A2): a 200,000-line new file and a 50 MB patch. The size
 * limit is met before any parsing; under the limit, every stage (repair, policy, the
 * scheduler, approval, the queue) handles the size without an argument spread or recursion
 * over the lines.
 */
const LINES = 200_000;

function bigContent(n: number): string {
  const out: string[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = `line ${i}`;
  return `${out.join('\n')}\n`;
}

/** A git-style creation patch of `rel` with `content`. */
function creation(rel: string, content: string, countLines = true): string {
  const lines = content.replace(/\n$/, '').split('\n');
  const body = new Array<string>(lines.length);
  for (let i = 0; i < lines.length; i++) body[i] = `+${lines[i]}`;
  const header = `@@ -0,0 +1,${countLines ? lines.length : lines.length - 7} @@`;
  return `diff --git a/${rel} b/${rel}\nnew file mode 100644\n--- /dev/null\n+++ b/${rel}\n${header}\n${body.join('\n')}\n`;
}

const cleanup: Array<() => void | Promise<void>> = [];
after(async () => {
  for (const f of cleanup) await f();
});

class FileWritingModel implements ChatProvider {
  readonly kind = 'recorded' as const;
  constructor(private readonly content: string) {}
  async chat(req: ChatRequest): Promise<ChatResponse> {
    const text =
      req.tags?.role === 'reviewer'
        ? JSON.stringify({ verdict: 'approve', comments: 'fine' })
        : JSON.stringify({ action: 'finish', summary: 'wrote big.txt', files: [{ path: 'big.txt', content: this.content }] });
    return { ...answerFor(req, text), usage: { inputTokens: 1, outputTokens: 1 }, model: 'table', provider: 'recorded' };
  }
}

async function openEngine(repo: string, config: Record<string, unknown>, model?: ChatProvider): Promise<Engine> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-large-state-'));
  const engine = await createEngine({
    repo, stateDir, config: EngineConfig.parse({ maxRetries: 0, routes: { default: [{ provider: 'recorded', model: 'table' }] }, ...config }),
    ports: { log: silentLogger, secrets: { get: async () => undefined } }, ...(model ? { providerOverrides: { recorded: model } } : {}),
  });
  cleanup.push(async () => {
    await engine.dispose();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
  return engine;
}

function readyPlan(patch: string): RunnablePlan {
  return {
    goal: 'a big file', rationale: '', confidence: 1, questions: [], assumptions: [],
    tasks: [{ id: 'big', title: 'add big.txt', type: 'code_gen', prompt: 'add big.txt', acceptanceCriteria: [], dependsOn: [], files: ['big.txt'], patch }],
  };
}

describe('large patches', () => {
  const content = bigContent(LINES);
  const patch = creation('big.txt', content);

  it(`repairs a ${LINES}-line hunk without overflowing the stack`, () => {
    const miscounted = creation('big.txt', content, false);
    const r = repairPatch(miscounted);
    assert.deepEqual(r.repairs, ['recount-hunk-lengths']);
    assert.equal(r.patch, patch);
  });

  it('meets the size limit before parsing a 50 MB patch', () => {
    const line = `+${'x'.repeat(99)}`;
    const lines = new Array<string>(500_000).fill(line);
    // Valid up to the last line, which no parser accepts: only a check that never parses passes.
    const huge = `diff --git a/h.txt b/h.txt\nnew file mode 100644\n--- /dev/null\n+++ b/h.txt\n@@ -0,0 +1,${lines.length} @@\n${lines.join('\n')}\nnot a hunk line\n`;
    assert.ok(huge.length > 50_000_000);
    for (const r of [checkPatchPolicy(huge), checkPolicy(huge, {})]) {
      assert.deepEqual(r.violations.map((v) => v.rule), ['size-limit']);
      assert.match(r.violations[0]!.message, /^size-limit: the patch is \d+ bytes, over the limit of 1000000 bytes/);
      assert.equal(r.blocked, true);
    }
    const valid = huge.replace(/not a hunk line\n$/, '');
    const p = landablePatch({ patch: valid, excluded_files_json: '[]' }, { maxPatchBytes: 1_000_000 });
    assert.equal(p.kind === 'patch' && p.patch === valid, true, 'returned unread, for the policy to refuse');
    // Under a limit it fits, the same 50 MB is read, without a repair and without a crash.
    const read = landablePatch({ patch: valid, excluded_files_json: '[]' });
    assert.deepEqual(read.kind === 'patch' ? read.repairs : ['empty'], []);
    assert.equal(checkPatchPolicy(valid, { maxPatchBytes: 60_000_000 }).violations.length, 0);
  });

  it(`lands a ready-made ${LINES}-line new file under a raised limit`, { timeout: 120_000 }, async () => {
    const repo = makeRepo({ 'README.md': 'x\n' });
    cleanup.push(() => repo.cleanup());
    const engine = await openEngine(repo.dir, { maxPatchBytes: 10_000_000 });
    const { done } = await engine.startRun(readyPlan(patch), { approve: 'all' });
    const view = await done;
    assert.equal(view.tasks[0]!.status, 'approved', view.tasks[0]!.error);
    await engine.runQueue();
    assert.deepEqual(engine.listQueue().map((e) => `${e.state} ${e.lastError ?? ''}`), ['merged ']);
    assert.equal(sh(repo.dir, ['show', 'main:big.txt']), content);
  });

  it('rejects the same file over the default limit with a size-limit violation', { timeout: 120_000 }, async () => {
    const repo = makeRepo({ 'README.md': 'x\n' });
    cleanup.push(() => repo.cleanup());
    const engine = await openEngine(repo.dir, {});
    const { runId, done } = await engine.startRun(readyPlan(patch), { approve: 'all' });
    await done;
    const [change] = engine.listChanges({ runId });
    assert.equal(change!.status, 'rejected');
    assert.match(change!.error ?? '', /size-limit: the patch is \d+ bytes, over the limit of 1000000 bytes/);
    assert.doesNotMatch(change!.error ?? '', /stack|Unexpected/);
  });

  it(`approves and lands the same file written by an agent`, { timeout: 120_000 }, async () => {
    const repo = makeRepo({ 'README.md': 'x\n' });
    cleanup.push(() => repo.cleanup());
    const engine = await openEngine(repo.dir, { maxPatchBytes: 10_000_000 }, new FileWritingModel(content));
    const plan = readyPlan('');
    delete (plan.tasks[0] as { patch?: string }).patch;
    const { runId, done } = await engine.startRun(plan, { approve: 'none' });
    await done;
    const [change] = engine.listChanges({ runId });
    assert.equal(change!.status, 'proposed', change!.error ?? '');
    await engine.approveChange(change!.id);
    await engine.runQueue();
    assert.deepEqual(engine.listQueue().map((e) => `${e.state} ${e.lastError ?? ''}`), ['merged ']);
    assert.equal(sh(repo.dir, ['show', 'main:big.txt']), content);
  });
});
