import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { killGroup, type KillPlatform } from '../../src/engine/agents/processRun';
import { groupAlive, waitFor } from '../support/processes';

/** A platform that records what killGroup asked of it. */
function recording(platform: NodeJS.Platform): KillPlatform & { calls: string[] } {
  const calls: string[] = [];
  return { platform, calls, kill: (pid, sig) => void calls.push(`kill ${pid} ${sig}`), taskkill: (args) => void calls.push(`taskkill ${args.join(' ')}`) };
}

describe('killing an agent process tree', () => {
  it('uses taskkill /T /F on Windows, which has no process groups', () => {
    const p = recording('win32');
    assert.equal(killGroup(4242, 'SIGTERM', p), true);
    assert.deepEqual(p.calls, ['taskkill /pid 4242 /T /F']);
  });

  it('signals the negative pid (the whole group) elsewhere', () => {
    for (const platform of ['linux', 'darwin'] as const) {
      const p = recording(platform);
      assert.equal(killGroup(4242, 'SIGTERM', p), true);
      assert.deepEqual(p.calls, ['kill -4242 SIGTERM']);
    }
  });

  it('kills a real group with a child in it', async () => {
    const leader = spawn('sh', ['-c', 'sleep 60 & wait'], { detached: true, stdio: 'ignore' });
    const pid = leader.pid!;
    await waitFor(() => groupAlive(pid), 'the group to start');
    assert.equal(killGroup(pid, 'SIGKILL'), true);
    await waitFor(() => !groupAlive(pid), 'the whole group to be gone', 5000);
  });
});
