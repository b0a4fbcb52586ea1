import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EngineConfig } from '../../src/engine/config';
import { isEngineError } from '../../src/engine/errors';
import { silentLogger, type UserPrompt } from '../../src/engine/ports';
import { PLAN_JSON_SCHEMA, parsePlanJson, planGoal } from '../../src/engine/plan/planner';
import { buildRepoMap } from '../../src/engine/plan/repoMap';
import { createModelClient } from '../../src/engine/providers/modelClient';
import { createProviderRegistry } from '../../src/engine/providers/router';
import { startAnthropicServer } from '../support/loopback/anthropic';
import { loopbackClient, loopbackConfig, testSecrets } from '../support/loopback/client';
import type { LoopbackScript, LoopbackServer } from '../support/loopback/common';
import { startOpenAIServer } from '../support/loopback/openai';

let repo: string;
const servers: LoopbackServer[] = [];
before(() => {
  repo = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-'));
  const run = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'pipe' });
  run('init', '-q', '-b', 'main');
  fs.mkdirSync(path.join(repo, 'src/http'), { recursive: true });
  fs.mkdirSync(path.join(repo, 'node_modules/junk'), { recursive: true });
  fs.writeFileSync(path.join(repo, '.gitignore'), 'node_modules/\n*.log\n');
  fs.writeFileSync(path.join(repo, 'README.md'), '# demo\n');
  fs.writeFileSync(path.join(repo, 'src/http/client.ts'), 'export const get = () => 1;\n');
  fs.writeFileSync(path.join(repo, 'src/index.ts'), 'export * from "./http/client";\n');
  fs.writeFileSync(path.join(repo, 'node_modules/junk/index.js'), '');
  fs.writeFileSync(path.join(repo, 'debug.log'), 'noise');
  run('add', '.');
  run('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-q', '-m', 'init');
});
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  fs.rmSync(repo, { recursive: true, force: true });
});

const task = (id: string, dependsOn: string[] = [], extra: Record<string, unknown> = {}) => ({
  id, title: `task ${id}`, type: 'code_gen', prompt: `do ${id}`, dependsOn, files: ['src/http/client.ts'], ...extra,
});
const planJson = (tasks: unknown[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({ goal: 'add retries', rationale: 'r', confidence: 0.8, tasks, ...extra });
const GOOD = planJson([task('t1'), task('t2', ['t1'], { type: 'test' }), task('t3', ['t1'], { type: 'docs', files: ['README.md'] })]);

type Vendor = 'openai' | 'anthropic';
async function plannerFor(vendor: Vendor, script: LoopbackScript, overrides: Record<string, unknown> = {}) {
  const server = vendor === 'openai' ? await startOpenAIServer(script) : await startAnthropicServer(script);
  servers.push(server);
  const config = loopbackConfig({
    [vendor]: server,
    route: [{ provider: vendor, model: 'planner-model' }],
    overrides: { routes: { default: [{ provider: vendor, model: 'planner-model' }], test: [{ provider: 'openai', model: 'test-model' }] }, ...overrides },
  });
  const { client, calls } = loopbackClient(config);
  return { server, config, client, calls };
}
/** The text of the messages a request carried (OpenAI messages or Anthropic system + messages). */
const sentText = (body: any): string => [body.system ?? '', ...body.messages.map((m: { content: unknown }) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content)))].join('\n');

describe('repo map', () => {
  it('lists tracked files by folder and leaves out ignored ones', async () => {
    fs.writeFileSync(path.join(repo, 'src/new-file.ts'), '');
    const map = await buildRepoMap(repo);
    fs.rmSync(path.join(repo, 'src/new-file.ts'));
    assert.match(map, /^\.\/: \.gitignore, README\.md$/m);
    assert.match(map, /^src\/http\/: client\.ts$/m);
    assert.match(map, /^src\/: index\.ts, new-file\.ts$/m);
    assert.ok(!map.includes('node_modules'));
    assert.ok(!map.includes('debug.log'));
  });

  it('caps its size and says what it left out', async () => {
    const big = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-'));
    try {
      execFileSync('git', ['init', '-q'], { cwd: big });
      for (let i = 0; i < 60; i++) {
        fs.mkdirSync(path.join(big, `pkg${i}`));
        fs.writeFileSync(path.join(big, `pkg${i}`, 'module-with-a-long-name.ts'), '');
      }
      const map = await buildRepoMap(big, { maxBytes: 1000 });
      assert.ok(Buffer.byteLength(map) <= 1000, `map is ${Buffer.byteLength(map)} bytes`);
      assert.match(map, /truncated: \d+ more files in \d+ folders not shown/);
    } finally {
      fs.rmSync(big, { recursive: true, force: true });
    }
  });

  it('fails with a git error outside a repository', async () => {
    const plain = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-'));
    try {
      await assert.rejects(buildRepoMap(plain), (e: unknown) => isEngineError(e, 'git/'));
    } finally {
      fs.rmSync(plain, { recursive: true, force: true });
    }
  });
});

for (const vendor of ['openai', 'anthropic'] as const) {
  for (const stream of [false, true]) {
    describe(`planner via ${vendor} (${stream ? 'streaming' : 'JSON'})`, () => {
      it('returns a valid plan with a route on every task and the repo map in the prompt', async () => {
        const { server, config, client } = await plannerFor(vendor, [{ type: 'reply', text: GOOD, usage: { input: 500, output: 200 } }], { prices: { 'planner-model': { input: 10, output: 20 } } });
        const res = await planGoal({ goal: 'add retries', repo, constraints: ['no new dependencies'] }, { client, config, log: silentLogger, stream });
        assert.equal(res.attempts, 1);
        assert.deepEqual(res.plan.tasks.map((t) => t.id), ['t1', 't2', 't3']);
        assert.deepEqual(res.plan.tasks.map((t) => t.route), [
          { provider: vendor, model: 'planner-model' },
          { provider: 'openai', model: 'test-model' },
          { provider: vendor, model: 'planner-model' },
        ]);
        assert.deepEqual(res.usage, { inputTokens: 500, outputTokens: 200, costUsd: (500 * 10 + 200 * 20) / 1e6 });
        const text = sentText(server.requests[0].body);
        assert.match(text, /src\/http\/: client\.ts/);
        assert.match(text, /no new dependencies/);
        assert.match(text, /Prefer 3-7 tasks\. Never more than 20/);
      });

      it('sends a cycle back for repair, naming it, and returns the corrected plan', async () => {
        const cyclic = planJson([task('t1'), task('t2', ['t1', 't4']), task('t3', ['t1']), task('t4', ['t2'])]);
        const { server, config, client } = await plannerFor(vendor, [{ type: 'reply', text: cyclic }, { type: 'reply', text: GOOD }]);
        const res = await planGoal({ goal: 'add retries', repo }, { client, config, log: silentLogger, stream });
        assert.equal(res.attempts, 2);
        assert.equal(res.plan.tasks.length, 3);
        assert.equal(server.requests.length, 2);
        const second = sentText(server.requests[1].body);
        assert.match(second, /dependency cycle t2 -> t4 -> t2/);
        // The rejected answer is shown to the model, so it can fix rather than start over.
        assert.ok(second.includes('"t4"'));
      });

      it('fails cleanly with plan/invalid quoting the problem after garbage three times', async () => {
        const { server, config, client } = await plannerFor(vendor, () => ({ type: 'reply', text: 'Sure! Here is my plan: step one, do things' }));
        const e = await planGoal({ goal: 'add retries', repo }, { client, config, log: silentLogger, stream }).then(
          () => assert.fail('expected plan/invalid'),
          (err: unknown) => err,
        );
        assert.ok(isEngineError(e, 'plan/invalid'), String(e));
        assert.match((e as Error).message, /after 3 attempts/);
        assert.match((e as Error).message, /not valid JSON|expected object/);
        assert.equal(server.requests.length, 3);
      });
    });
  }
}

describe('planner questions', () => {
  const QUESTIONS = planJson([], { questions: ['Which HTTP client?', 'Retry POST requests?'], assumptions: ['fetch', 'only idempotent requests'] });

  it('asks each question and re-plans once with the answers', async () => {
    const { server, config, client } = await plannerFor('openai', [{ type: 'reply', text: QUESTIONS }, { type: 'reply', text: GOOD }]);
    const asked: string[] = [];
    const ask: UserPrompt = { askQuestion: async (q) => (asked.push(q), q.startsWith('Which') ? 'undici' : undefined) };
    const res = await planGoal({ goal: 'add retries', repo }, { client, config, log: silentLogger, ask });
    assert.deepEqual(asked, ['Which HTTP client?', 'Retry POST requests?']);
    assert.equal(res.attempts, 2);
    assert.equal(res.plan.tasks.length, 3);
    assert.deepEqual(res.plan.questions, []);
    const second = sentText(server.requests[1].body);
    assert.match(second, /A: undici/);
    assert.match(second, /No answer for these[\s\S]*Retry POST requests\?/);
  });

  it('proceeds on assumptions without anyone to ask, re-asking only when there are no tasks', async () => {
    const { server, config, client } = await plannerFor('anthropic', [{ type: 'reply', text: QUESTIONS }, { type: 'reply', text: GOOD }]);
    const res = await planGoal({ goal: 'add retries', repo }, { client, config, log: silentLogger });
    assert.equal(res.plan.tasks.length, 3);
    assert.equal(server.requests.length, 2);
    assert.match(sentText(server.requests[1].body), /Proceed with your stated assumptions/);

    const withTasks = planJson([task('t1')], { questions: ['Which HTTP client?'], assumptions: ['fetch'] });
    const second = await plannerFor('openai', [{ type: 'reply', text: withTasks }]);
    const declined: UserPrompt = { askQuestion: async () => undefined };
    const r2 = await planGoal({ goal: 'add retries', repo }, { client: second.client, config: second.config, log: silentLogger, ask: declined });
    assert.equal(second.server.requests.length, 1);
    assert.deepEqual(r2.plan.assumptions, ['fetch']);
  });
});

describe('planner limits and parsing', () => {
  it('enforces config.planner.maxTasks through repair', async () => {
    const many = planJson([task('a'), task('b'), task('c'), task('d')]);
    const { server, config, client } = await plannerFor('openai', [{ type: 'reply', text: many }, { type: 'reply', text: GOOD }], { planner: { maxTasks: 3, repairAttempts: 2 } });
    const res = await planGoal({ goal: 'g', repo }, { client, config, log: silentLogger });
    assert.equal(res.plan.tasks.length, 3);
    assert.match(sentText(server.requests[0].body), /Never more than 3/);
    assert.match(sentText(server.requests[1].body), /4 tasks is more than the maximum of 3/);
  });

  it('passes provider errors through unchanged', async () => {
    const { config, client } = await plannerFor('openai', [{ type: 'error', status: 401 }]);
    await assert.rejects(planGoal({ goal: 'g', repo }, { client, config, log: silentLogger }), (e: unknown) => isEngineError(e, 'provider/auth'));
  });

  it('stops when cancelled before asking', async () => {
    const { server, config, client } = await plannerFor('openai', [{ type: 'reply', text: GOOD }]);
    const ctrl = new AbortController();
    ctrl.abort();
    await assert.rejects(planGoal({ goal: 'g', repo }, { client, config, log: silentLogger, signal: ctrl.signal }), (e: unknown) => isEngineError(e, 'cancelled'));
    assert.equal(server.requests.length, 0);
  });

  it('tolerates a fenced answer and describes unparseable text', () => {
    assert.deepEqual(parsePlanJson('Here:\n```json\n{"a":1}\n```'), { ok: true, value: { a: 1 } });
    const bad = parsePlanJson('nope');
    assert.equal(bad.ok, false);
    assert.match((bad as { error: string }).error, /began "nope"/);
  });

  it('publishes a JSON schema with the plan fields', () => {
    assert.equal(PLAN_JSON_SCHEMA.type, 'object');
    assert.deepEqual(PLAN_JSON_SCHEMA.required, ['goal', 'confidence', 'tasks']);
  });

  it('plans from the recorded fixture without a network', async () => {
    const file = path.resolve('test/fixtures/recorded/planner-basic.json');
    const config = EngineConfig.parse({ providers: { recorded: { file } } });
    const registry = createProviderRegistry({ config, secrets: testSecrets, log: silentLogger });
    const client = createModelClient({ registry, config, log: silentLogger });
    const res = await planGoal({ goal: 'Add retry with backoff to the HTTP client', repo }, { client, config, log: silentLogger });
    assert.ok(res.plan.tasks.length >= 3);
    assert.ok(res.plan.tasks.every((t) => t.route.provider === 'recorded'));
  });
});
