import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { copilotArgs } from '../../src/engine/agents/copilotHarness';
import { silentLogger, type SecretReader } from '../../src/engine/ports';
import { createRun } from '../../src/engine/runs/runs';
import { runPlan } from '../../src/engine/schedule/scheduler';
import { config, fastBackoff, makeRunFixture, plan, task, testClock } from '../support/run-fixture';
import { ScriptedClient } from '../support/run-model';
import { useTempWorktrees } from '../support/worktrees';
import { fakeClaude } from '../support/agents/fakeClaude';
import { realAgents } from '../support/agents/realAgents';
import { withoutProviderKeys } from '../support/agents/providerKeys';

useTempWorktrees();

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const secrets: SecretReader = { get: async (name) => `stored-${name}` };

/**
 * The command line Hyperion gives Copilot CLI, exactly, with a stand-in binary (the real CLI
 * runs offline in agents-real-copilot.test.ts, in its bring-your-own-key mode only, since the
 * GitHub-hosted path needs a login), and that the real installed Copilot CLI documents every
 * flag in it, so a flag renamed upstream fails here instead of at a user's.
 */
describe('the copilot harness', () => {
  it('runs copilot -p in the worktree with edits and shell allowed, the route\'s model, no Hyperion key, and keeps its edit', async () => {
    withoutProviderKeys(cleanups);
    const fx = await makeRunFixture();
    // Copilot CLI 1.0.102's JSON lines, as the real one prints them (see agents-real-copilot.test.ts).
    const fake = fakeClaude([
      { type: 'tool.execution_start', data: { toolCallId: 't1', toolName: 'create', arguments: { path: 'src/added.ts', file_text: 'x' } } },
      { $write: ['src/added.ts', 'export const added = true;\n'] },
      { type: 'assistant.message', data: { content: 'I added src/added.ts.', toolRequests: [] } },
      { type: 'result', exitCode: 0, usage: { premiumRequests: 0 } },
    ]);
    cleanups.push(() => fx.cleanup(), fake.cleanup);
    const runId = createRun(fx.db, { goal: 'g', repo: fx.repo.dir, baseCommit: fx.repo.head(), plan: plan([task('a', { agent: 'cp', model: 'gpt-5.4', prompt: 'Add the added flag' })]), approve: 'none', clock: testClock });
    const progress: string[] = [];
    const view = await runPlan({
      db: fx.db, repo: fx.repo.dir, client: new ScriptedClient({ dev: () => new Error('the built-in developer must not run') }), log: silentLogger, clock: testClock, backoff: fastBackoff, secrets,
      onEvent: (e) => void (e.kind === 'task/progress' && progress.push(String(e.data?.text))),
      config: config({ maxRetries: 0, agents: { cp: { kind: 'copilot', path: fake.bin, args: ['--log-level', 'none'] } } }),
    }, runId);
    const t = view.tasks[0]!;
    assert.equal(t.status, 'proposed', t.error);
    assert.equal(t.summary, 'I added src/added.ts.', "its last message is the task's summary");
    assert.deepEqual(progress, ['editing src/added.ts']);
    const change = fx.db.get<{ patch: string }>('SELECT patch FROM change_requests WHERE run_id = ?', [runId])!;
    assert.match(change.patch, /^\+\+\+ b\/src\/added\.ts$/m);

    const [call] = fake.calls();
    assert.equal(call!.argv[0], '-p');
    assert.match(call!.argv[1]!, /Add the added flag/);
    assert.deepEqual(call!.argv.slice(2), [
      '--allow-tool', 'write', '--allow-tool', 'shell', '--deny-tool', 'shell(git push)',
      '--disallow-temp-dir', '--disable-builtin-mcps', '--no-ask-user', '--no-auto-update', '--no-color', '--output-format', 'json',
      '--model', 'gpt-5.4', '--log-level', 'none',
    ]);
    assert.ok(!call!.argv.includes('--allow-all-paths') && !call!.argv.includes('--allow-all') && !call!.argv.includes('--yolo'), 'file access stays in the worktree');
    assert.equal(call!.env.ANTHROPIC_API_KEY, undefined, 'Copilot gets no key Hyperion holds');
    assert.equal(call!.env.OPENAI_API_KEY, undefined);
  });

  it('passes no --model when the route names none', () => {
    assert.ok(!copilotArgs('p', { kind: 'copilot' }, undefined).includes('--model'));
  });

  it('passes only flags and permission kinds the installed Copilot CLI 1.0.102 documents', () => {
    const { copilot } = realAgents();
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-copilot-home-'));
    cleanups.push(() => fs.rmSync(home, { recursive: true, force: true }));
    const env = { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config') };
    const help = execFileSync(copilot, ['--help'], { env, encoding: 'utf8' });
    const permissions = execFileSync(copilot, ['help', 'permissions'], { env, encoding: 'utf8' });
    const args = copilotArgs('the prompt', { kind: 'copilot' }, 'gpt-5.4');
    const flags = args.filter((a) => a.startsWith('-'));
    assert.ok(flags.length >= 10, flags.join(' '));
    for (const flag of flags) {
      const documented = new RegExp(`(^|[\\s,])${flag.replace(/[-]/g, '\\-')}([\\s,=<\\[]|$)`, 'm').test(help);
      assert.ok(documented, `copilot --help does not mention ${flag}`);
    }
    for (const kind of ['shell(', 'write(']) assert.ok(permissions.includes(kind), `copilot help permissions does not mention ${kind}`);
  });
});
