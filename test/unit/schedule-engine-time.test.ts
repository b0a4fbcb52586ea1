import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { checkPatchPolicy, compileProtection, protectionCompilations } from '../../src/engine/changes/policy';
import { silentLogger } from '../../src/engine/ports';
import { createRun } from '../../src/engine/runs/runs';
import { getChangeView } from '../../src/engine/runs/views';
import { checkPolicy } from '../../src/engine/schedule/policy';
import { runPlan } from '../../src/engine/schedule/scheduler';
import type { TaskSpan } from '../../src/engine/schedule/spans';
import { filePatch } from '../support/queue-repo';
import { config, fastBackoff, makeRunFixture, plan, task, testClock, type RunFixture } from '../support/run-fixture';
import { ScriptedClient, finish } from '../support/run-model';

let fx: RunFixture | undefined;
afterEach(() => {
  fx?.cleanup();
  fx = undefined;
});

describe('engine time of a task', () => {
  it('checks each patch against the policy once, and stores that verdict with the change', async () => {
    fx = await makeRunFixture();
    const client = new ScriptedClient({
      dev: (id) => (id === 'ci' ? finish('ci', { '.github/workflows/x.yml': 'on: push\n' }) : finish(id, { [`${id}.txt`]: `${id}\n` })),
    });
    const ready = filePatch('ready.txt', null, 'ready\n');
    const tasks = [task('a'), task('b', { dependsOn: ['a'] }), task('ci'), task('ready', { patch: ready })];
    const runId = createRun(fx.db, { goal: 'g', repo: fx.repo.dir, baseCommit: fx.repo.head(), plan: plan(tasks), approve: 'none', clock: testClock });
    const checked: string[] = [];
    const counting: typeof checkPolicy = (patch, opts) => {
      checked.push(patch);
      return checkPolicy(patch, opts);
    };
    const view = await runPlan({ db: fx.db, repo: fx.repo.dir, client, config: config(), log: silentLogger, clock: testClock, backoff: fastBackoff, checkPolicy: counting }, runId);
    assert.deepEqual(view.tasks.map((t) => t.status), ['proposed', 'proposed', 'proposed', 'proposed']);
    const patches = view.tasks.map((t) => getChangeView(fx!.db, t.changeId!)!.patch);
    // Each stored patch was checked exactly once; the ready-made one also once as given, before git read it.
    for (const p of patches) assert.equal(checked.filter((c) => c === p).length, 1, `checked once: ${p.split('\n')[0]}`);
    assert.equal(checked.filter((c) => c === ready).length, 1);
    assert.equal(checked.length, 5);
    const ci = getChangeView(fx.db, view.tasks.find((t) => t.id === 'ci')!.changeId!)!;
    assert.equal(ci.needsExplicitApproval, true, 'the verdict that was stored is the policy verdict');
  });

  it('reports a span per task and per provider call, the calls inside their task', async () => {
    fx = await makeRunFixture();
    const client = new ScriptedClient({ dev: (id) => finish(id, { [`${id}.txt`]: `${id}\n` }) });
    const runId = createRun(fx.db, { goal: 'g', repo: fx.repo.dir, baseCommit: fx.repo.head(), plan: plan([task('a'), task('b', { dependsOn: ['a'] })]), approve: 'none', clock: testClock });
    const spans: TaskSpan[] = [];
    await runPlan({ db: fx.db, repo: fx.repo.dir, client, config: config(), log: silentLogger, clock: testClock, backoff: fastBackoff, onTaskSpan: (s) => spans.push(s) }, runId);
    for (const id of ['a', 'b']) {
      const mine = spans.filter((s) => s.taskId === id && s.runId === runId);
      const t = mine.filter((s) => s.kind === 'task');
      assert.equal(t.length, 1);
      const calls = mine.filter((s) => s.kind === 'model');
      assert.deepEqual(calls.map((c) => c.role), ['code_gen', 'reviewer']);
      for (const c of calls) assert.ok(c.start >= t[0]!.start && c.end <= t[0]!.end && c.start <= c.end);
    }
  });

  it('compiles the protected and high-risk globs once per set of lists', () => {
    const lists = { protectedPaths: [`only-here-${process.pid}/**`], highRiskPaths: [{ glob: 'hooks/**', rule: 'auto-run' as const, reason: 'runs' }] };
    const before = protectionCompilations();
    const first = compileProtection(lists);
    const report = checkPatchPolicy(filePatch(`only-here-${process.pid}/x`, null, 'x\n'), lists);
    checkPatchPolicy(filePatch('hooks/pre-commit', null, 'x\n'), { ...lists, protectedPaths: [...lists.protectedPaths] });
    assert.equal(protectionCompilations(), before + 1, 'equal lists share one compilation');
    assert.equal(compileProtection(lists), first);
    assert.equal(report.violations[0]?.rule, 'protected-path', 'the cached matcher still matches');
    compileProtection({ ...lists, protectedPaths: ['other/**'] });
    assert.equal(protectionCompilations(), before + 2, 'another list is compiled on its own');
  });
});
