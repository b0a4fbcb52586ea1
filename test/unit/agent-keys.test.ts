import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type { AgentConfig } from '../../src/engine/config';
import { silentLogger, type SecretReader } from '../../src/engine/ports';
import { createRun } from '../../src/engine/runs/runs';
import { agentEnv } from '../../src/engine/schedule/agentEnv';
import { runPlan } from '../../src/engine/schedule/scheduler';
import { config, fastBackoff, makeRunFixture, plan, task, testClock } from '../support/run-fixture';
import { ScriptedClient } from '../support/run-model';
import { useTempWorktrees } from '../support/worktrees';
import { fakeClaude, resultLine } from '../support/agents/fakeClaude';
import { withoutProviderKeys } from '../support/agents/providerKeys';

useTempWorktrees();

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** Hyperion's stored keys (SecretStorage in VS Code), one per provider. */
const secrets: SecretReader = { get: async (name) => `stored-${name}` };
/** The user's own environment, without any provider key of theirs. */
const userEnv = { PATH: '/usr/bin', HOME: '/home/u', CODEX_HOME: '/home/u/.codex' };
const keysOf = (env: Record<string, string | undefined>) => ({ anthropic: env.ANTHROPIC_API_KEY, openai: env.OPENAI_API_KEY });

describe('keys Hyperion holds reach only the agent of their provider', () => {
  const cases: Array<[string, AgentConfig, { anthropic?: string; openai?: string }]> = [
    ['claude-code gets the Anthropic key', { kind: 'claude-code' }, { anthropic: 'stored-anthropic' }],
    ['codex gets the OpenAI key', { kind: 'codex' }, { openai: 'stored-openai' }],
    ['codex with a provider of its own gets none', { kind: 'codex', provider: { baseUrl: 'http://127.0.0.1:1/v1', envKey: 'MY_KEY' } }, {}],
    ['copilot gets none', { kind: 'copilot' }, {}],
    ['a command gets none', { command: 'aider' }, {}],
    ['a command gets the key of the provider it names', { command: 'aider', provider: 'anthropic' }, { anthropic: 'stored-anthropic' }],
    ['an openai-compatible command gets that key as OPENAI_API_KEY', { command: 'aider', provider: 'openai-compatible' }, { openai: 'stored-openai-compatible' }],
  ];
  for (const [name, cfg, want] of cases) {
    it(name, async () => {
      const env = await agentEnv(cfg, secrets, userEnv);
      assert.deepEqual(keysOf(env), { anthropic: want.anthropic, openai: want.openai });
      assert.equal(env.CODEX_HOME, '/home/u/.codex', "the user's environment is passed as it is");
    });
  }

  it("leaves a key the user set in their environment as they set it", async () => {
    const env = await agentEnv({ kind: 'claude-code' }, secrets, { ...userEnv, ANTHROPIC_API_KEY: 'the-users-own' });
    assert.equal(env.ANTHROPIC_API_KEY, 'the-users-own');
  });
});

describe('the spawned agent environment', () => {
  it('Claude Code is started with the Anthropic key and no other; a command naming openai with the OpenAI key', async () => {
    // A key in this process's own environment would be the user's, passed as is: take them out.
    withoutProviderKeys(cleanups);
    const fx = await makeRunFixture();
    const fake = fakeClaude([resultLine('done', 0)]);
    const envFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-env-')), 'env.json');
    cleanups.push(() => fx.cleanup(), fake.cleanup, () => fs.rmSync(path.dirname(envFile), { recursive: true, force: true }));
    const recordEnv = `${JSON.stringify(process.execPath)} -e ${JSON.stringify(`require('fs').writeFileSync(${JSON.stringify(envFile)}, JSON.stringify(process.env))`)}`;
    const runId = createRun(fx.db, { goal: 'g', repo: fx.repo.dir, baseCommit: fx.repo.head(), plan: plan([task('a', { agent: 'cc' }), task('b', { agent: 'cmd' })]), approve: 'none', clock: testClock });
    const view = await runPlan({
      db: fx.db, repo: fx.repo.dir, client: new ScriptedClient({ dev: () => new Error('the built-in developer must not run') }), log: silentLogger, clock: testClock, backoff: fastBackoff, secrets,
      config: config({ maxRetries: 0, agents: { cc: { kind: 'claude-code', path: fake.bin }, cmd: { command: recordEnv, provider: 'openai' } } }),
    }, runId);
    assert.deepEqual(view.tasks.map((t) => [t.status, t.error]), [['proposed', undefined], ['proposed', undefined]]);
    assert.deepEqual(keysOf(fake.calls()[0]!.env), { anthropic: 'stored-anthropic', openai: undefined });
    assert.deepEqual(keysOf(JSON.parse(fs.readFileSync(envFile, 'utf8'))), { anthropic: undefined, openai: 'stored-openai' });
  });
});
