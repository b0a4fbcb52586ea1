import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { makeSampleRepo, runCli } from '../support/cli';
import { useTempWorktrees } from '../support/worktrees';
import { fakeClaude, resultLine, toolUseLine } from '../support/agents/fakeClaude';

useTempWorktrees();

const cleanups: Array<() => void> = [];
after(() => {
  for (const c of cleanups) c();
});

function outside(name: string, body: unknown): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-transcript-cli-'));
  cleanups.push(() => fs.rmSync(d, { recursive: true, force: true }));
  const f = path.join(d, name);
  fs.writeFileSync(f, JSON.stringify(body));
  return f;
}

describe('the CLI shows what an agent does and what it printed', () => {
  const fake = fakeClaude([
    { type: 'system', subtype: 'init', model: 'claude-test' },
    toolUseLine('m1', 'Write', { file_path: 'new.txt', content: 'x' }),
    { $write: ['new.txt', 'new\n'] },
    resultLine('Wrote new.txt for you', 0.001),
  ]);
  cleanups.push(fake.cleanup);
  const dir = makeSampleRepo();
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const config = outside('config.json', { agents: { cc: { kind: 'claude-code', path: fake.bin } }, maxRetries: 0 });
  const request = outside('request.json', { goal: 'agent work', approve: 'none', tasks: [{ id: 'a1', title: 'Add a file', type: 'code_gen', agent: 'cc' }] });

  it('prints progress lines in human output only, and the transcript on request', async () => {
    const human = await runCli(['request', request, '--config', config], { cwd: dir, timeoutMs: 120_000 });
    assert.equal(human.code, 0, `${human.stdout}\n${human.stderr}`);
    assert.match(human.stdout, /^ {2}a1 +… editing new\.txt$/m);
    const runId = /^Run (\S+):/m.exec(human.stdout)?.[1];
    assert.ok(runId, human.stdout);

    const json = await runCli(['request', request, '--config', config, '--json'], { cwd: dir, timeoutMs: 120_000 });
    assert.equal(json.code, 0, json.stderr);
    assert.doesNotMatch(json.stdout, /editing/, '--json prints one object and no progress');
    assert.equal(JSON.parse(json.stdout).tasks[0].status, 'proposed');

    const t = await runCli(['transcript', runId, 'a1'], { cwd: dir });
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /"result":"Wrote new.txt for you"/);
    const tj = await runCli(['transcript', runId, 'a1', '--json'], { cwd: dir });
    assert.equal(JSON.parse(tj.stdout).transcript, t.stdout, 'the transcript ends with a newline and is printed as it is');

    const none = await runCli(['transcript', runId, 'nope'], { cwd: dir });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no agent transcript is stored for task "nope"/);
  });
});
