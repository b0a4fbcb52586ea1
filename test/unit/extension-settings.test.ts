import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineError } from '../../src/engine/errors';
import { parseChangeUriPath, changeUriPath } from '../../src/extension/changeUris';
import { toUserError } from '../../src/extension/errorMessages';
import { redact } from '../../src/extension/logger';
import { planContext } from '../../src/extension/planContext';
import { parseModelRef, settingsToEngineConfig } from '../../src/extension/settings';
import { graphCsp, graphHtml } from '../../src/extension/webviewHtml';

const reader = (o: Record<string, unknown>) => (k: string) => o[k];

describe('settings → EngineConfig', () => {
  it('maps providers, routes with fallbacks, concurrency, check command, protected paths, budget and auto-approval', () => {
    const { config, autoApprove, problems } = settingsToEngineConfig(reader({
      'providers.openaiCompatible.baseUrl': 'http://127.0.0.1:9999/v1',
      'providers.openai.baseUrl': '',
      'models.default': ['openai-compatible:llama3:8b', 'openai:gpt-4.1'],
      'models.planner': ['anthropic:claude-sonnet-4-5'],
      concurrency: 5,
      checkCommand: 'npm test',
      protectedPaths: ['.github/**', 42],
      budgetUsd: 2.5,
      autoApprove: true,
      requestTimeoutSeconds: 30,
    }));
    assert.deepEqual(problems, []);
    assert.equal(config.providers['openai-compatible'].baseUrl, 'http://127.0.0.1:9999/v1');
    assert.equal(config.providers.openai.baseUrl, undefined);
    assert.deepEqual(config.routes.default, [{ provider: 'openai-compatible', model: 'llama3:8b' }, { provider: 'openai', model: 'gpt-4.1' }]);
    assert.deepEqual(config.routes.planner, [{ provider: 'anthropic', model: 'claude-sonnet-4-5' }]);
    assert.equal(config.concurrency, 5);
    assert.equal(config.checkCommand, 'npm test');
    assert.deepEqual(config.protectedPaths, ['.github/**']);
    assert.equal(config.budgetUsd, 2.5);
    assert.equal(config.timeoutMs, 30_000);
    assert.equal(autoApprove, true);
  });

  it('uses the engine defaults when nothing is set, with automatic approval off', () => {
    const { config, autoApprove, problems } = settingsToEngineConfig(() => undefined);
    assert.equal(autoApprove, false);
    assert.deepEqual(problems, []);
    assert.equal(config.concurrency, 3);
    assert.deepEqual(config.routes, {});
  });

  it('skips a bad route entry or an out-of-range number with a sentence, keeping the rest', () => {
    const { config, problems } = settingsToEngineConfig(reader({ 'models.test': ['gpt-4', 'openai:gpt-4.1'], concurrency: 99 }));
    assert.deepEqual(config.routes.test, [{ provider: 'openai', model: 'gpt-4.1' }]);
    assert.equal(config.concurrency, 3);
    assert.equal(problems.length, 2);
    assert.match(problems[0], /"gpt-4" is not "provider:model"/);
  });

  it('parses provider:model at the first colon only', () => {
    assert.deepEqual(parseModelRef('vscode-lm:copilot-gpt-4o'), { provider: 'vscode-lm', model: 'copilot-gpt-4o' });
    assert.equal(parseModelRef('nope:model'), undefined);
    assert.equal(parseModelRef('openai:'), undefined);
  });
});

describe('errors shown to the user', () => {
  it('sends an auth failure to Set API Key without quoting the server', () => {
    const u = toUserError(new EngineError('provider/auth', 'openai-compatible refused the credentials (HTTP 401): sk-secret', { details: { provider: 'openai-compatible' } }), 'Planning', true);
    assert.deepEqual(u.actions, ['Set API Key', 'Select Models']);
    assert.match(u.message, /^Planning failed: openai-compatible rejected the API key/);
    assert.doesNotMatch(u.message, /sk-secret/);
  });

  it('offers Retry for transient faults only when the caller can retry, and Open Log always', () => {
    assert.deepEqual(toUserError(new EngineError('provider/timeout', 'slow'), 'Planning', true).actions, ['Retry', 'Open Log']);
    assert.deepEqual(toUserError(new EngineError('provider/timeout', 'slow'), 'Planning').actions, ['Open Log']);
    assert.deepEqual(toUserError(new Error('kaput'), 'Approving').actions, ['Open Log']);
  });

  it('treats cancellation as information, and gives one sentence per family', () => {
    assert.equal(toUserError(new EngineError('cancelled', 'x'), 'Planning').severity, 'info');
    assert.equal(toUserError(new EngineError('plan/invalid', 'task t3 depends on itself.'), 'Planning').message, 'Planning failed: the planner did not produce a valid plan (task t3 depends on itself).');
    assert.ok(toUserError(new EngineError('queue/bad-state', 'x'), 'Landing').actions.includes('Show Queue'));
  });
});

describe('small host helpers', () => {
  it('adds the active file and selection to the plan context, bounded', () => {
    assert.equal(planContext(undefined), undefined);
    assert.equal(planContext({ relativePath: 'src/a.ts', languageId: 'typescript' }), 'Active file: src/a.ts (typescript)');
    const c = planContext({ relativePath: 'a.ts', selection: 'x'.repeat(10_000), selectionLines: [3, 9] }, 500)!;
    assert.ok(c.length < 600);
    assert.match(c, /lines 3-9/);
    assert.match(c, /selection cut/);
  });

  it('round-trips diff document paths and refuses paths that climb out', () => {
    const p = changeUriPath('proposed', 'c1', 'src/dir/a b.ts');
    assert.deepEqual(parseChangeUriPath(p), { side: 'proposed', changeId: 'c1', file: 'src/dir/a b.ts' });
    assert.equal(parseChangeUriPath('/proposed/c1/../../etc/passwd'), undefined);
    assert.equal(parseChangeUriPath('/other/c1/a.ts'), undefined);
  });

  it('keeps keys out of log lines', () => {
    assert.deepEqual(redact({ apiKey: 'sk-abcdef123456', nested: { Authorization: 'Bearer x' }, note: 'used sk-abcdefghijkl here', n: 3 }),
      { apiKey: '[redacted]', nested: { Authorization: '[redacted]' }, note: 'used [redacted] here', n: 3 });
  });

  it('builds the webview page with a strict nonce CSP and no inline script', () => {
    const csp = graphCsp('https://wv.example', 'N0NCE');
    assert.equal(csp.split('; ')[0], "default-src 'none'");
    assert.ok(csp.includes("script-src 'nonce-N0NCE'"));
    assert.ok(csp.includes("style-src https://wv.example 'nonce-N0NCE'"));
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    const html = graphHtml({ cspSource: 'https://wv.example', nonce: 'N0NCE', scriptUri: 'https://wv.example/dist/webview.js', styleUri: 'https://wv.example/media/graph.css' });
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.equal(scripts.length, 1);
    assert.match(scripts[0][1], /nonce="N0NCE"/);
    assert.match(scripts[0][1], /src="https:\/\/wv\.example\/dist\/webview\.js"/);
    assert.equal(scripts[0][2].trim(), '');
    assert.doesNotMatch(html, /\son\w+=/i);
  });
});
