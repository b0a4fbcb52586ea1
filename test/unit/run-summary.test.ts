import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Engine, RunnablePlan } from '../../src/engine/api';
import { EngineConfig } from '../../src/engine/config';
import { createEngine } from '../../src/engine/engine';
import { silentLogger } from '../../src/engine/ports';
import type { ChatProvider, ChatRequest, ChatResponse } from '../../src/engine/providers/types';
import { buildRunSummary, patchLineCounts } from '../../src/engine/runs/summary';
import { mdText, renderRunSummary } from '../../src/engine/runs/summaryMarkdown';
import { gitOut, makeSampleRepo, runCli } from '../support/cli';
import type { LoopbackServer } from '../support/loopback/common';
import { startOpenAIServer } from '../support/loopback/openai';
import { answerFor, replyFor } from '../support/tool-answers';

const FILES: Record<string, Record<string, string>> = {
  // README.md exists in the sample repo: t1 rewrites it (lines removed and added) and adds a file.
  t1: { 'README.md': '# Sample\n\nRewritten by t1.\n-- a line that looks like a header\n', 'src/one.js': 'module.exports = 1;\n// one\n// two\n' },
  t2: { 'docs/a.md': 'a\n', 'docs/left-out.md': 'not landed\n' },
  t3: { 'docs/t3.md': 't3\n' },
};

class FileModel implements ChatProvider {
  readonly kind = 'recorded' as const;
  async chat(req: ChatRequest): Promise<ChatResponse> {
    const text = req.tags?.role === 'reviewer'
      ? JSON.stringify({ verdict: req.tags?.taskId === 't2' ? 'request_changes' : 'approve', comments: 'checked' })
      : JSON.stringify({ action: 'finish', summary: 'done', files: Object.entries(FILES[req.tags?.taskId ?? ''] ?? {}).map(([p, content]) => ({ path: p, content })) });
    return { ...answerFor(req, text), usage: { inputTokens: 1000, outputTokens: 500 }, model: 'table', provider: 'recorded' };
  }
}

const cleanup: string[] = [];
const engines: Engine[] = [];
const servers: LoopbackServer[] = [];
after(async () => {
  for (const e of engines) await e.dispose().catch(() => undefined);
  await Promise.all(servers.map((s) => s.close()));
  for (const r of cleanup) fs.rmSync(r, { recursive: true, force: true });
});

/** `git show --numstat` of a commit, as path → { added, removed }. */
function numstat(repo: string, commit: string): Map<string, { added: number; removed: number }> {
  const out = new Map<string, { added: number; removed: number }>();
  for (const line of gitOut(repo, 'show', '--numstat', '--format=', commit).split('\n')) {
    const m = /^(\d+)\t(\d+)\t(.+)$/.exec(line);
    if (m) out.set(m[3], { added: Number(m[1]), removed: Number(m[2]) });
  }
  return out;
}

describe('run summary', () => {
  it('counts lines per file as git does, even for lines that look like diff headers', () => {
    const repo = makeSampleRepo();
    cleanup.push(repo);
    fs.writeFileSync(path.join(repo, 'x.txt'), 'keep\n-- old header lookalike\n++ old\nlast\n');
    gitOut(repo, 'add', '-A');
    gitOut(repo, '-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'x');
    fs.writeFileSync(path.join(repo, 'x.txt'), 'keep\n--- new header lookalike\n+++ new\nlast\nmore\n');
    fs.rmSync(path.join(repo, 'README.md'));
    fs.writeFileSync(path.join(repo, 'new.txt'), 'n1\nn2\n');
    gitOut(repo, 'add', '-A');
    const patch = gitOut(repo, 'diff', '--cached');
    const ours = Object.fromEntries(patchLineCounts(patch));
    gitOut(repo, '-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'y');
    const theirs = Object.fromEntries(numstat(repo, 'HEAD'));
    assert.deepEqual(ours, theirs);
    assert.deepEqual(ours['x.txt'], { added: 3, removed: 2 });
  });

  it('reads back per task: files, lines, review, checks, cost, time and commit, against git and the queue', async () => {
    const repo = makeSampleRepo();
    cleanup.push(repo);
    const marker = path.join(os.tmpdir(), `hyperion-summary-fail-${process.pid}`);
    fs.writeFileSync(marker, 'fail');
    cleanup.push(marker);
    const config = EngineConfig.parse({
      routes: { default: [{ provider: 'recorded', model: 'table' }] },
      prices: { 'recorded:table': { input: 3, output: 15 } },
      checkCommand: `test ! -e '${marker}'`,
      maxRetries: 0,
    });
    const engine = await createEngine({ repo, config, ports: { log: silentLogger, secrets: { get: async () => undefined } }, providerOverrides: { recorded: new FileModel() } });
    engines.push(engine);
    const plan: RunnablePlan = {
      goal: 'Summarise <b>this</b> | run', rationale: '', confidence: 1, questions: [], assumptions: [],
      tasks: ['t1', 't2', 't3'].map((id) => ({ id, title: `Task ${id}`, type: 'code_gen' as const, prompt: `do ${id}`, acceptanceCriteria: [], dependsOn: [], files: [] })),
    };
    const { runId, done } = await engine.startRun(plan);
    await done;
    const changeOf = (id: string) => engine.getRun(runId)!.tasks.find((t) => t.id === id)!.changeId!;
    // t1 lands at the second check (the first fails while the marker exists); t2 lands without one file; t3 waits.
    await engine.approveChange(changeOf('t1'));
    await engine.runQueue();
    const t1Entry = engine.listQueue().find((e) => e.taskId === 't1')!;
    assert.equal(t1Entry.state, 'failed');
    fs.rmSync(marker);
    await engine.retryEntry(t1Entry.id);
    await engine.approveChange(changeOf('t2'), { excludeFiles: ['docs/left-out.md'] });
    await engine.runQueue();

    const s = await engine.runSummary(runId);
    const run = engine.getRun(runId)!;
    const queue = engine.listQueue().filter((e) => e.runId === runId);
    for (const id of ['t1', 't2']) {
      const t = s.tasks.find((x) => x.id === id)!;
      const entry = queue.filter((e) => e.taskId === id && e.state === 'merged')[0];
      assert.ok(entry?.landedCommit, `${id} landed`);
      assert.equal(t.commit, entry.landedCommit, `${id}: the commit is the queue's`);
      assert.match(gitOut(repo, 'show', '-s', '--format=%B', t.commit!), new RegExp(`Hyperion-Task: ${id}`));
      const git = numstat(repo, t.commit!);
      assert.deepEqual(Object.fromEntries(t.files.map((f) => [f.path, { added: f.added, removed: f.removed }])), Object.fromEntries(git), `${id}: files and lines are git's`);
      assert.equal(t.linesAdded, [...git.values()].reduce((a, f) => a + f.added, 0));
      assert.equal(t.linesRemoved, [...git.values()].reduce((a, f) => a + f.removed, 0));
      assert.equal(t.costUsd, run.tasks.find((x) => x.id === id)!.costUsd);
      assert.ok(t.costUsd > 0, 'a priced model costs something');
      assert.ok(t.durationMs !== undefined && t.durationMs >= 0);
    }
    const [t1, t2, t3] = s.tasks;
    assert.ok(t1.files.some((f) => f.path === 'README.md' && f.removed > 0), 'a rewritten file counts removed lines');
    assert.ok(!t2.files.some((f) => f.path === 'docs/left-out.md'), 'a file left out of the approval is not counted');
    assert.equal(t1.reviewVerdict, 'approve');
    assert.equal(t2.reviewVerdict, 'request_changes');
    assert.deepEqual(t1.checks.map((c) => [c.attempt, c.passed, c.exitCode]), [[1, false, 1], [2, true, 0]]);
    assert.equal(t1.checks[0].command, config.checkCommand);
    assert.deepEqual(t2.checks.map((c) => c.passed), [true]);
    assert.equal(engine.getCheckOutput(t1Entry.id)?.exitCode, 0, 'the latest stored check is the passing one');
    assert.equal(t3.status, 'proposed');
    assert.equal(t3.commit, undefined);
    assert.deepEqual(s.waiting, [{ taskId: 't3', reason: 'waiting for review' }]);
    assert.deepEqual(s.totals, {
      tasks: 3, merged: 2, files: t1.files.length + t2.files.length,
      linesAdded: t1.linesAdded + t2.linesAdded, linesRemoved: t1.linesRemoved + t2.linesRemoved,
      costUsd: run.tasks.reduce((a, t) => a + t.costUsd, 0), costKnown: true, durationMs: s.tasks.reduce((a, t) => a + (t.durationMs ?? 0), 0),
      checksRun: 3, checksFailed: 1,
    });

    const md = renderRunSummary(s);
    assert.match(md, new RegExp(`\\| \`t1\` Task t1 \\| merged \\| ${t1.files.length} \\| \\+${t1.linesAdded} −${t1.linesRemoved} \\| approve \\| 1 of 2 failed \\|`));
    assert.match(md, /- `t3`: waiting for review/);
    assert.match(md, /Summarise &lt;b&gt;this&lt;\/b&gt; \\\| run/, 'model text is escaped, never HTML');
    assert.ok(!md.includes('<b>'));

    // The CLI prints the same data (the engine must let go of the store first).
    await engine.dispose();
    engines.pop();
    const json = await runCli(['summary', runId, '--json'], { cwd: repo });
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), JSON.parse(JSON.stringify(s)));
    const text = await runCli(['summary', runId], { cwd: repo });
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout, md);
    const unknown = await runCli(['summary', 'run_nope'], { cwd: repo });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no run "run_nope"/);
  });

  it('shows the cost of a model without a price as unknown, not $0.00', () => {
    const task = { id: 't1', title: 'T', type: 'code_gen' as const, prompt: 'p', acceptanceCriteria: [], dependsOn: [], files: [], runId: 'r', status: 'proposed' as const, attempts: 1, costUsd: 0 };
    const s = buildRunSummary({ run: { id: 'r', goal: 'g', status: 'awaiting-review', costUsd: 0, createdAt: 0, tasks: [task] }, changes: [], queue: [], checks: [], isPriced: () => false });
    assert.equal(s.tasks[0].costKnown, false);
    assert.equal(s.totals.costKnown, false);
    assert.match(renderRunSummary(s), /- Cost: — \(a model has no price in the config\)/);
  });

  it('escapes markdown and HTML in model text', () => {
    assert.equal(mdText('<img src=x onerror=alert(1)>'), '&lt;img src=x onerror=alert(1)&gt;');
    assert.equal(mdText('a | b `c` *d*\n# e'), 'a \\| b \\`c\\` \\*d\\* \\# e');
  });

  it('plan --json, edited by hand, runs with request: the documented CLI path for a draft', async () => {
    const dir = makeSampleRepo();
    cleanup.push(dir);
    const planned = {
      goal: 'Add two notes', rationale: 'r', confidence: 0.5, questions: [], assumptions: ['notes go in notes/'],
      tasks: [
        { id: 'n1', title: 'First note', type: 'docs', prompt: 'Write notes/one.md', acceptanceCriteria: [], dependsOn: [], files: ['notes/one.md'] },
        { id: 'n2', title: 'Second note', type: 'docs', prompt: 'Write notes/two.md', acceptanceCriteria: [], dependsOn: ['n1'], files: ['notes/two.md'] },
      ],
    };
    const server = await startOpenAIServer((req) => {
      const body = JSON.stringify(req.body);
      if (body.includes('"name":"plan"') || /planner/i.test(body.slice(0, 2000))) return { type: 'reply', text: JSON.stringify(planned) };
      if (/review/i.test(String((req.body as { response_format?: { json_schema?: { name?: string } } })?.response_format?.json_schema?.name ?? ''))) return { type: 'reply', text: JSON.stringify({ verdict: 'approve', comments: 'ok' }) };
      const id = /# Subtask (\S+):/.exec(body)?.[1] ?? 'x';
      return replyFor(req.body, JSON.stringify({ action: 'finish', summary: id, files: [{ path: `notes/${id}.md`, content: `${id} edited by hand\n` }] }));
    });
    servers.push(server);
    const args = ['--provider', 'openai', '--model', 'gpt-test', '--base-url', server.url];
    const env = { OPENAI_API_KEY: 'sk-loopback' };
    const p = await runCli(['plan', 'Add two notes', '--json', ...args], { cwd: dir, env });
    assert.equal(p.code, 0, p.stderr);
    const file = path.join(os.tmpdir(), `hyperion-plan-${process.pid}.json`);
    cleanup.push(file);
    // The user's edits: retitle and re-prompt n1, drop n2, add n3 after n1; the planner's extra keys stay in the file.
    const edited = JSON.parse(p.stdout);
    edited.tasks[0].title = 'First note, by hand';
    edited.tasks[0].prompt = 'Write notes/n1.md';
    edited.tasks = [edited.tasks[0], { id: 'n3', title: 'Third note', type: 'docs', prompt: 'Write notes/n3.md', dependsOn: ['n1'] }];
    edited.approve = 'all';
    fs.writeFileSync(file, JSON.stringify(edited, null, 2));
    const r = await runCli(['request', file, '--json', ...args], { cwd: dir, env });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.tasks.map((t: { id: string; status: string }) => `${t.id}:${t.status}`), ['n1:merged', 'n3:merged']);
    assert.equal(fs.readFileSync(path.join(dir, 'notes/n1.md'), 'utf8'), 'n1 edited by hand\n');
    assert.ok(!fs.existsSync(path.join(dir, 'notes/n2.md')), 'the removed task did not run');
    assert.match(gitOut(dir, 'log', '--format=%s', '-n', '2'), /Third note[\s\S]*First note, by hand/);
    // A cycle made while editing is refused with the cycle named, before anything is stored.
    edited.tasks[0].dependsOn = ['n3'];
    fs.writeFileSync(file, JSON.stringify(edited));
    const bad = await runCli(['request', file, '--json', ...args], { cwd: dir, env });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /dependency cycle/);
  });
});
