import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineConfig } from '../../src/engine/config';
import { agentRouteFor, routeFor } from '../../src/engine/providers/router';
import { agentChoiceFor } from '../../src/engine/schedule/agentChoice';

const cfg = (raw: unknown) => EngineConfig.parse(raw);

describe('agent routes', () => {
  const config = cfg({
    routes: {
      code_gen: [{ agent: 'claude-code', model: 'sonnet' }, { provider: 'openai', model: 'gpt-x' }],
      docs: [{ agent: 'aider' }],
      default: [{ provider: 'anthropic', model: 'claude-y' }],
    },
  });

  it('routeFor gives providers only: agent entries are skipped, an agent-only route falls back to default', () => {
    assert.deepEqual(routeFor(config, 'code_gen'), [{ provider: 'openai', model: 'gpt-x' }]);
    assert.deepEqual(routeFor(config, 'docs'), [{ provider: 'anthropic', model: 'claude-y' }]);
    assert.deepEqual(routeFor(config, 'planner'), [{ provider: 'anthropic', model: 'claude-y' }]);
  });

  it('agentRouteFor is the first entry of the type\'s route when it names an agent', () => {
    assert.deepEqual(agentRouteFor(config, 'code_gen'), { agent: 'claude-code', model: 'sonnet' });
    assert.deepEqual(agentRouteFor(config, 'docs'), { agent: 'aider' });
    assert.equal(agentRouteFor(config, 'test'), undefined);
  });

  it('agentChoiceFor: the task\'s own agent, then the default agent, then the route; a patch runs no agent', () => {
    assert.deepEqual(agentChoiceFor(config, { type: 'code_gen' }), { name: 'claude-code', model: 'sonnet' });
    assert.deepEqual(agentChoiceFor(config, { type: 'code_gen', model: 'opus' }), { name: 'claude-code', model: 'opus' });
    assert.deepEqual(agentChoiceFor(config, { type: 'code_gen', agent: 'codex' }), { name: 'codex', model: undefined });
    assert.deepEqual(agentChoiceFor({ ...config, defaultAgent: 'codex' }, { type: 'code_gen' }), { name: 'codex', model: undefined });
    assert.deepEqual(agentChoiceFor({ ...config, defaultAgent: 'codex' }, { type: 'test', agent: 'aider', model: 'm' }), { name: 'aider', model: 'm' });
    assert.equal(agentChoiceFor(config, { type: 'test' }), undefined);
    assert.equal(agentChoiceFor({ ...config, defaultAgent: 'codex' }, { type: 'code_gen', patch: 'diff' }), undefined);
  });

  it('refuses a route entry that is neither a provider nor an agent', () => {
    assert.throws(() => cfg({ routes: { code_gen: [{ model: 'x' }] } }));
  });
});
