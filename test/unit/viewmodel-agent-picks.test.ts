import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DetectedAgent } from '../../src/engine/agents/detect';
import { agentPickItems, agentSelection, agentsApplyTo } from '../../src/extension/viewmodel/agentPicks';

describe('Select Models lists coding agents', () => {
  const found: DetectedAgent = { name: 'claude', kind: 'claude-code', label: 'Claude Code', configured: false, binary: '/usr/bin/claude', version: '2.1.197' };
  const configured: DetectedAgent = { name: 'work', kind: 'codex', label: 'Codex CLI', configured: true, binary: '/opt/codex', version: '0.171.0' };
  const missing: DetectedAgent = { name: 'copilot', kind: 'copilot', label: 'GitHub Copilot CLI', configured: false, problem: 'GitHub Copilot CLI: copilot was not found on PATH; install it with `npm install -g @github/copilot`, or set "path" in its agents entry.' };
  const broken: DetectedAgent = { name: 'x', kind: 'claude-code', label: 'Claude Code', configured: true, binary: '/bin/x', problem: '`/bin/x --version` exited with code 3' };

  it('shows each agent with its version beside its name, and a missing one with how to install it', () => {
    const items = agentPickItems([found, configured, missing, broken]);
    assert.deepEqual(items.map((i) => [i.label, i.description]), [
      ['$(terminal) claude', 'Claude Code 2.1.197'],
      ['$(terminal) work', 'Codex CLI 0.171.0'],
      ['$(terminal) copilot', 'GitHub Copilot CLI · not installed'],
      ['$(terminal) x', 'Claude Code · not working'],
    ]);
    assert.equal(items[0].detail, 'Found on PATH: /usr/bin/claude. Choosing it adds "claude" to hyperion.agents.');
    assert.equal(items[1].detail, 'hyperion.agents.work · /opt/codex');
    assert.equal(items[2].detail, missing.problem);
  });

  it('routes the role to the chosen agent, configuring one found only on PATH, and refuses a missing one with its sentence', () => {
    assert.deepEqual(agentSelection(found), { route: 'agent:claude', addAgent: { name: 'claude', entry: { kind: 'claude-code' } } });
    assert.deepEqual(agentSelection(configured), { route: 'agent:work' });
    assert.deepEqual(agentSelection(missing), { problem: missing.problem });
    assert.deepEqual(agentSelection(broken), { route: 'agent:x' }, 'an agent without --version can still be chosen');
    assert.ok(agentsApplyTo('test') && agentsApplyTo('default'));
    assert.ok(!agentsApplyTo('planner') && !agentsApplyTo('reviewer'), 'the planner and the reviewer are not tasks');
  });
});
