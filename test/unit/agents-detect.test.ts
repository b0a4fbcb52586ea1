import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { detectAgents, findOnPath, readVersion } from '../../src/engine/agents/detect';
import { groupAlive, waitFor } from '../support/processes';

// Fake agent binaries (shell scripts) in temp folders that make up the whole PATH: the
// detection runs them for real, as it would run claude or codex.
const dirs: string[] = [];
after(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

function binDir(scripts: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-detect-'));
  dirs.push(dir);
  for (const [name, body] of Object.entries(scripts)) {
    fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  }
  return dir;
}

/** Live processes whose command line names a file in `dir`. */
function processesRunningFrom(dir: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const state = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
      if (cmd.includes(dir) && state !== 'Z') found.push(`${pid}: ${cmd.replace(/\0/g, ' ')}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** PATH with the fakes and /bin (for sleep and echo inside them), nothing else. */
const envWith = (...dirsOnPath: string[]) => ({ PATH: [...dirsOnPath, '/bin', '/usr/bin'].join(path.delimiter) });

describe('detecting coding agents', () => {
  it('finds Claude Code and Codex on PATH with their versions, and says how to install the missing Copilot CLI', async () => {
    const dir = binDir({ claude: 'echo "2.1.197 (Claude Code)"', codex: 'echo "codex-cli 0.171.0"' });
    const found = await detectAgents({ env: envWith(dir) });
    assert.deepEqual(found.map((a) => [a.name, a.kind, a.configured, a.version, a.binary]), [
      ['claude', 'claude-code', false, '2.1.197', path.join(dir, 'claude')],
      ['codex', 'codex', false, '0.171.0', path.join(dir, 'codex')],
      ['copilot', 'copilot', false, undefined, undefined],
    ]);
    const copilot = found[2];
    assert.equal(copilot.problem, 'GitHub Copilot CLI: copilot was not found on PATH; install it with `npm install -g @github/copilot`, or set "path" in its agents entry.');
  });

  it('lists configured agents under their own names, with the path they name, instead of the PATH ones of the same kind', async () => {
    const onPath = binDir({ claude: 'echo 1.0.0', aider: 'touch "$0.ran"; echo 9.9.9' });
    const own = binDir({ 'my-claude': 'echo "2.0.5 (Claude Code)"' });
    const found = await detectAgents({
      env: envWith(onPath),
      agents: {
        work: { kind: 'claude-code', path: path.join(own, 'my-claude') },
        aider: { command: 'aider --yes --message-file {promptFile}' },
        gone: { command: '"no such agent" {promptFile}' },
        claude: { command: 'claude -p hi' },
      },
    });
    const byName = new Map(found.map((a) => [a.name, a]));
    assert.deepEqual(found.map((a) => a.name), ['work', 'aider', 'gone', 'claude', 'codex', 'copilot'], 'no second Claude Code from PATH; codex and copilot are missing');
    assert.equal(byName.get('work')?.version, '2.0.5');
    assert.equal(byName.get('work')?.configured, true);
    assert.equal(byName.get('aider')?.binary, path.join(onPath, 'aider'));
    assert.equal(byName.get('aider')?.version, undefined);
    assert.equal(fs.existsSync(path.join(onPath, 'aider.ran')), false, 'a command-line agent is looked up, never run');
    assert.match(byName.get('gone')?.problem ?? '', /no such agent was not found on PATH/);
    assert.equal(byName.get('claude')?.kind, 'command');
    const configuredPathGone = await detectAgents({ env: envWith(onPath), agents: { c: { kind: 'codex', path: '/nowhere/codex' } } });
    assert.match(configuredPathGone[0].problem ?? '', /^Codex CLI: \/nowhere\/codex is not an executable file; install it with `npm install -g @openai\/codex`/);
  });

  it('names a PATH agent <name>-cli when a configured agent of another kind took its usual name', async () => {
    const dir = binDir({ codex: 'echo "codex-cli 0.171.0"' });
    const found = await detectAgents({ env: envWith(dir), agents: { codex: { command: 'my-codex-wrapper' } } });
    assert.deepEqual(found.map((a) => [a.name, a.kind, a.configured]), [
      ['codex', 'command', true],
      ['claude', 'claude-code', false],
      ['codex-cli', 'codex', false],
      ['copilot', 'copilot', false],
    ]);
    assert.equal(found[2].version, '0.171.0');
  });

  it('never hangs on a binary that does not answer: its whole process group is killed at the timeout', async () => {
    // The helper loops in a shell whose command line names its folder, so it can be found.
    const dir = binDir({ claude: '"$(dirname "$0")/helper" & wait', helper: 'while :; do sleep 1; done' });
    const found = await detectAgents({ env: envWith(dir), timeoutMs: 300 });
    const claude = found.find((a) => a.name === 'claude')!;
    assert.equal(claude.version, undefined);
    assert.match(claude.problem ?? '', /did not answer within 300 ms/);
    await waitFor(() => processesRunningFrom(dir).length === 0, 'the hanging --version and its helper are gone');
  });

  // The test's timeout only bounds the hang that would come from waiting for the sleep.
  it('reads the version of a binary that exits but leaves a process holding its output open', { timeout: 60_000 }, async () => {
    const dir = binDir({ claude: `echo $$ > "$0.pid"; echo "3.1.4 (Claude Code)"; sleep 600 &` });
    // A timeout far above the test's own: the answer must come from the exit, not the timer.
    const found = await detectAgents({ env: envWith(dir), timeoutMs: 120_000 });
    assert.equal(found.find((a) => a.name === 'claude')?.version, '3.1.4');
    const pid = Number(fs.readFileSync(path.join(dir, 'claude.pid'), 'utf8'));
    await waitFor(() => !groupAlive(pid), 'the left-behind sleep is killed');
  });

  it('reports a failing --version with its exit code and first error line, and runs all binaries at once', async () => {
    const dir = binDir({ claude: 'echo "boom: bad install" >&2; exit 3', codex: 'echo', copilot: 'echo "GitHub Copilot CLI 0.0.339"' });
    const found = await detectAgents({ env: envWith(dir) });
    const by = new Map(found.map((a) => [a.name, a]));
    assert.equal(by.get('claude')?.problem, `\`${path.join(dir, 'claude')} --version\` exited with code 3: boom: bad install`);
    assert.equal(by.get('codex')?.problem, `\`${path.join(dir, 'codex')} --version\` printed nothing`);
    assert.equal(by.get('copilot')?.version, '0.0.339');

    // Three binaries that each wait for a file the last one writes: only a parallel run ends.
    const gate = path.join(dir, 'gate');
    const wait = (me: string, v: string) => `touch "${gate}.${me}"; while [ ! -e "${gate}.claude" ] || [ ! -e "${gate}.codex" ] || [ ! -e "${gate}.copilot" ]; do sleep 0.05; done; echo ${v}`;
    const par = binDir({ claude: wait('claude', '1.0.0'), codex: wait('codex', '2.0.0'), copilot: wait('copilot', '3.0.0') });
    const all = await detectAgents({ env: envWith(par), timeoutMs: 60_000 });
    assert.deepEqual(all.map((a) => a.version), ['1.0.0', '2.0.0', '3.0.0']);
  });

  it('finds binaries by path or on PATH only when they are executable files', async () => {
    const dir = binDir({ claude: 'echo 1.0.0' });
    fs.writeFileSync(path.join(dir, 'codex'), 'not executable', { mode: 0o644 });
    fs.mkdirSync(path.join(dir, 'copilot'));
    assert.equal(findOnPath('claude', envWith(dir)), path.join(dir, 'claude'));
    assert.equal(findOnPath('codex', envWith(dir)), undefined);
    assert.equal(findOnPath('copilot', envWith(dir)), undefined);
    assert.equal(findOnPath(path.join(dir, 'claude'), {}), path.join(dir, 'claude'));
    const r = await readVersion(path.join(dir, 'missing'), { timeoutMs: 5000 });
    assert.match(r.problem ?? '', /could not start: .*ENOENT/);
  });
});
