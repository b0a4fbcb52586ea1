import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { ModelRef } from '../../src/engine/config';
import { silentLogger } from '../../src/engine/ports';
import { createRun } from '../../src/engine/runs/runs';
import { getChangeView } from '../../src/engine/runs/views';
import { runPlan } from '../../src/engine/schedule/scheduler';
import { startAnthropicServer } from '../support/loopback/anthropic';
import { loopbackClient, loopbackConfig } from '../support/loopback/client';
import type { LoopbackServer, LoopbackStep, LoopbackToolCall, ReceivedRequest } from '../support/loopback/common';
import { startOpenAIServer } from '../support/loopback/openai';
import { fastBackoff, makeRunFixture, plan, task, testClock, type RunFixture } from '../support/run-fixture';
import { useTempWorktrees } from '../support/worktrees';

useTempWorktrees();

/** A package whose test wants price() to triple; the code doubles. */
const FILES = {
  'package.json': `${JSON.stringify({ name: 'shop', version: '1.0.0', scripts: { test: 'node --test' } }, null, 2)}\n`,
  'src/price.js': 'exports.price = (n) => n * 2;\n',
  'test/price.test.js': "const test = require('node:test');\nconst assert = require('node:assert');\nconst { price } = require('../src/price.js');\ntest('triples', () => assert.equal(price(2), 6));\ntest('zero', () => assert.equal(price(0), 0));\n",
};

const REVIEW_OK = JSON.stringify({ verdict: 'approve', comments: 'fine' });

let fx: RunFixture | undefined;
let server: LoopbackServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  fx?.cleanup();
  fx = undefined;
});

const calls = (...c: LoopbackToolCall[]): LoopbackStep => ({ type: 'reply', text: '', toolCalls: c });
const isReview = (r: ReceivedRequest) => JSON.stringify(r.body).includes('You review one proposed change');
/** The developer's requests (the reviewer's left out). */
const devRequests = (s: LoopbackServer) => s.requests.filter((r) => !isReview(r));

/** Everything the model was told in tool results, as one string (both wire formats). */
function toolResultsOf(r: ReceivedRequest): string {
  return JSON.stringify(r.body.messages);
}

async function runOne(route: ModelRef, srv: { openai?: LoopbackServer; anthropic?: LoopbackServer }, over: Record<string, unknown> = {}, taskOver: Parameters<typeof task>[1] = {}) {
  fx = await makeRunFixture(FILES);
  const config = loopbackConfig({ ...srv, route: [route], overrides: { developer: 'tools', checkCommand: 'npm test', maxRetries: 0, ...over } });
  const { client } = loopbackClient(config);
  const runId = createRun(fx.db, { goal: 'g', repo: fx.repo.dir, baseCommit: fx.repo.head(), plan: plan([task('t1', { files: ['src/price.js'], prompt: 'price() must triple', ...taskOver })]), approve: 'none', clock: testClock });
  const view = await runPlan({ db: fx.db, repo: fx.repo.dir, client, config, log: silentLogger, clock: testClock, backoff: fastBackoff }, runId);
  const t = view.tasks[0]!;
  return { view, task: t, change: t.changeId ? getChangeView(fx.db, t.changeId) : undefined };
}

describe('the tool developer against the real SDKs', () => {
  it('OpenAI, streamed: reads, recovers from a failed edit, sees the tests fail, fixes, passes and finishes', async () => {
    server = await startOpenAIServer([
      calls({ name: 'read_file', input: { path: 'src/price.js' } }),
      calls({ name: 'edit_file', input: { path: 'src/price.js', old_string: 'exports.price = n => n * 2;', new_string: 'x' } }),
      calls({ name: 'edit_file', input: { path: 'src/price.js', old_string: 'n * 2', new_string: 'n * 4' } }),
      calls({ name: 'run_command', input: { command: 'npm test' } }),
      { type: 'reply', text: 'The test wants three times.', toolCalls: [{ name: 'edit_file', input: { path: 'src/price.js', old_string: 'n * 4', new_string: 'n * 3' } }, { name: 'run_command', input: { command: 'npm test' } }] },
      calls({ name: 'finish', input: { summary: 'price() triples' } }),
      { type: 'reply', text: REVIEW_OK },
    ]);
    const { task: t, change } = await runOne({ provider: 'openai', model: 'gpt-test' }, { openai: server });
    assert.equal(t.status, 'proposed', t.error);
    const dev = devRequests(server);
    assert.equal(dev.length, 6);
    assert.ok(dev.every((r) => r.body.stream === true && Array.isArray(r.body.tools) && r.body.tools.some((x: any) => x.function.name === 'edit_file')));
    assert.match(toolResultsOf(dev[2]!), /old_string matches no place.*closest places/, 'the failed edit is answered with its closest candidates');
    assert.match(toolResultsOf(dev[4]!), /exit code 1/, 'the failing test run is answered');
    assert.match(toolResultsOf(dev[5]!), /exit code 0/);
    assert.equal(dev[1]!.body.messages.find((m: any) => m.role === 'tool')?.tool_call_id, 'call_loop_0');
    assert.match(change!.patch, /-exports.price = \(n\) => n \* 2;\n\+exports.price = \(n\) => n \* 3;/);
    assert.deepEqual(change!.files, ['src/price.js']);
    assert.equal(change!.verification?.passed, true);
    assert.deepEqual(change!.verification?.counts, { passed: 2, failed: 0, total: 2 });
    assert.equal(change!.needsExplicitApproval, false);
    assert.match(change!.model ?? '', /^openai\/gpt-test/);
    const review = server.requests.find(isReview)!;
    assert.match(JSON.stringify(review.body), /tests passed in the task's worktree: 2\/2/);
  });

  it('Anthropic, streamed: a refused command and a path outside the worktree are error answers, not failures', async () => {
    server = await startAnthropicServer([
      calls({ name: 'run_command', input: { command: 'npm test; rm -rf ~' } }, { name: 'read_file', input: { path: '../../etc/passwd' } }, { name: 'run_command', input: { command: 'curl http://example.com' } }),
      calls({ name: 'write_file', input: { path: '/tmp/evil.js', content: 'x' } }, { name: 'edit_file', input: { path: 'src/price.js', old_string: 'n * 2', new_string: 'n * 3' } }),
      calls({ name: 'finish', input: { summary: 'done' } }),
      { type: 'reply', text: REVIEW_OK },
    ]);
    const { task: t, change } = await runOne({ provider: 'anthropic', model: 'claude-test' }, { anthropic: server });
    assert.equal(t.status, 'proposed', t.error);
    const dev = devRequests(server);
    const second = JSON.stringify(dev[1]!.body.messages);
    assert.match(second, /"type":"tool_result","tool_use_id":"toolu_loop_0","content":"command refused: \\";\\" is shell syntax[^"]*","is_error":true/);
    assert.match(second, /leaves the repository/);
    assert.match(second, /\\"curl http:\/\/example.com\\" is not on the allow list/);
    assert.match(JSON.stringify(dev[2]!.body.messages), /is an absolute path/);
    assert.equal(dev[0]!.body.tools.length, 8);
    // finish ran the check itself, since the model did not after its edit.
    assert.equal(change!.verification?.passed, true);
    assert.deepEqual(change!.files, ['src/price.js'], `${change!.patch}\n${JSON.stringify(dev.map((r) => r.body.messages.at(-1)))}`);
  });

  it('a change whose own check fails is marked so and needs an explicit approval', async () => {
    server = await startOpenAIServer([
      calls({ name: 'edit_file', input: { path: 'src/price.js', old_string: 'n * 2', new_string: 'n * 5' } }, { name: 'finish', input: { summary: 'tried' } }),
      calls({ name: 'finish', input: { summary: 'could not make it pass' } }),
      { type: 'reply', text: REVIEW_OK },
    ]);
    const { task: t, change } = await runOne({ provider: 'openai', model: 'gpt-test' }, { openai: server });
    assert.equal(t.status, 'proposed', t.error);
    assert.match(toolResultsOf(devRequests(server)[1]!), /not finished: the check failed/);
    assert.equal(change!.verification?.passed, false);
    assert.deepEqual(change!.verification?.counts, { passed: 1, failed: 1, total: 2 });
    assert.equal(change!.needsExplicitApproval, true);
    assert.ok(change!.explicitApprovalReasons.some((r) => /its own check failed: tests failed \(exit 1\) in the task's worktree: 1\/2 passed/.test(r)), change!.explicitApprovalReasons.join('\n'));
    assert.match(JSON.stringify(server.requests.find(isReview)!.body), /tests failed \(exit 1\) in the task's worktree/);
  });

  it('a model that never finishes fails its task at the step budget', async () => {
    server = await startOpenAIServer(Array.from({ length: 3 }, () => calls({ name: 'list_dir', input: { path: '.' } })));
    const { task: t } = await runOne({ provider: 'openai', model: 'gpt-test' }, { openai: server }, { agent: { commandTimeoutMs: 120_000, maxSteps: 3 } });
    assert.equal(t.status, 'failed');
    assert.match(t.error ?? '', /did not finish within 3 steps/);
    assert.match(JSON.stringify(devRequests(server)[2]!.body.messages), /one reply left: call finish/);
  });

  it("a plan's verify command is the task's check when the allow list takes it, and ignored when not", async () => {
    server = await startOpenAIServer((req) => {
      if (isReview(req)) return { type: 'reply', text: REVIEW_OK };
      const turn = (req.body.messages as Array<{ role: string }>).filter((m) => m.role === 'assistant').length;
      // A server that takes tools but whose model writes its call as JSON text.
      return turn === 0
        ? { type: 'reply', text: JSON.stringify({ tool: 'edit_file', input: { path: 'src/price.js', old_string: 'n * 2', new_string: 'n * 3' } }) }
        : calls({ name: 'finish', input: { summary: 'tripled' } });
    });
    const { change } = await runOne({ provider: 'openai', model: 'gpt-test' }, { openai: server }, { checkCommand: undefined }, { verify: 'npm run test' });
    assert.equal(change!.verification?.command, 'npm run test');
    assert.deepEqual(change!.verification?.counts, { passed: 2, failed: 0, total: 2 });
    await server.close();
    fx!.cleanup();
    server = await startOpenAIServer((req) => isReview(req) ? { type: 'reply', text: REVIEW_OK } : (req.body.messages as unknown[]).length > 2 ? calls({ name: 'finish', input: { summary: 's' } }) : calls({ name: 'edit_file', input: { path: 'src/price.js', old_string: 'n * 2', new_string: 'n * 3' } }));
    const refused = await runOne({ provider: 'openai', model: 'gpt-test' }, { openai: server }, { checkCommand: undefined }, { verify: 'rm -rf src' });
    assert.equal(refused.task.status, 'proposed');
    assert.equal(refused.change!.verification, undefined, 'a verify command off the allow list never runs');
    assert.match(refused.change!.patch, /n \* 3/);
  });

  it('an endpoint that refuses tools gets one JSON object per turn, remembered for the next task', async () => {
    server = await startOpenAIServer((req) => {
      if (isReview(req)) return { type: 'reply', text: REVIEW_OK };
      if (req.body.tools) return { type: 'error', status: 400, body: { error: { message: 'tools is not supported by this server', type: 'invalid_request_error' } } };
      const answered = /(Result of|Error from) edit_file/.test(JSON.stringify(req.body.messages));
      const step = answered
        ? { tool: 'finish', input: { summary: 'tripled' } }
        : { tool: 'edit_file', input: { path: 'src/price.js', old_string: 'n * 2', new_string: 'n * 3' } };
      return { type: 'reply', text: JSON.stringify(step) };
    });
    fx = await makeRunFixture(FILES);
    const config = loopbackConfig({ openai: server, route: [{ provider: 'openai', model: 'gpt-test' }], overrides: { developer: 'tools', maxRetries: 0 } });
    const { client } = loopbackClient(config);
    const runId = createRun(fx.db, { goal: 'g', repo: fx.repo.dir, baseCommit: fx.repo.head(), plan: plan([task('t1', { files: ['src/price.js'] }), task('t2', { dependsOn: ['t1'], files: ['README.md'] })]), approve: 'none', clock: testClock });
    const view = await runPlan({ db: fx.db, repo: fx.repo.dir, client, config, log: silentLogger, clock: testClock, backoff: fastBackoff }, runId);
    assert.deepEqual(view.tasks.map((x) => [x.id, x.status]), [['t1', 'proposed'], ['t2', 'proposed']]);
    const dev = devRequests(server);
    assert.equal(dev.filter((r) => r.body.tools).length, 1, 'tools were offered once, then remembered as refused');
    assert.equal(dev[1]!.body.response_format?.type, 'json_schema');
    assert.match(getChangeView(fx.db, view.tasks[0]!.changeId!)!.patch, /\+exports.price = \(n\) => n \* 3;/);
  });
});
