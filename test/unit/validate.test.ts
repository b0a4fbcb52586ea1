import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSafeRepoPath, validatePlan } from '../../src/engine/plan/validate';

const task = (id: string, dependsOn: string[] = [], extra: Record<string, unknown> = {}) => ({
  id, title: `t ${id}`, type: 'code_gen', prompt: 'p', dependsOn, ...extra,
});
const plan = (tasks: unknown[], extra: Record<string, unknown> = {}) => ({ goal: 'g', confidence: 0.5, tasks, ...extra });
function errorsOf(raw: unknown, maxTasks = 20): string[] {
  const v = validatePlan(raw, { maxTasks });
  assert.equal(v.ok, false, 'expected the plan to be rejected');
  return (v as { errors: string[] }).errors;
}

describe('validatePlan', () => {
  it('accepts a well-formed plan and fills defaults', () => {
    const v = validatePlan(plan([task('a'), task('b', ['a'])]));
    assert.equal(v.ok, true);
    if (v.ok) {
      assert.deepEqual(v.plan.tasks[0].files, []);
      assert.deepEqual(v.plan.questions, []);
    }
  });

  it('rejects duplicate ids', () => {
    assert.ok(errorsOf(plan([task('a'), task('a')])).includes('task a: duplicate id'));
  });

  it('rejects unknown and self dependencies, naming them', () => {
    const errs = errorsOf(plan([task('a', ['zz']), task('b', ['b'])]));
    assert.ok(errs.includes('task a: depends on unknown task "zz"'), errs.join('\n'));
    assert.ok(errs.includes('task b: depends on itself'), errs.join('\n'));
  });

  it('rejects a dependency listed twice', () => {
    assert.ok(errorsOf(plan([task('a'), task('b', ['a', 'a'])])).includes('task b: lists a dependency twice'));
  });

  it('names the cycle', () => {
    const errs = errorsOf(plan([task('t1'), task('t2', ['t1', 't4']), task('t4', ['t2'])]));
    assert.ok(errs.some((e) => e === 'tasks: dependency cycle t2 -> t4 -> t2' || e === 'tasks: dependency cycle t4 -> t2 -> t4'), errs.join('\n'));
  });

  it('rejects an empty plan unless it asks questions', () => {
    assert.ok(errorsOf(plan([])).includes('tasks: the plan has no tasks'));
    assert.equal(validatePlan(plan([], { questions: ['which db?'] })).ok, true);
  });

  it('rejects too many tasks', () => {
    const tasks = Array.from({ length: 4 }, (_, i) => task(`t${i}`));
    assert.ok(errorsOf(plan(tasks), 3).includes('tasks: 4 tasks is more than the maximum of 3'));
    assert.equal(validatePlan(plan(tasks), { maxTasks: 4 }).ok, true);
  });

  it('rejects file paths that escape the repository', () => {
    for (const bad of ['../etc/passwd', '/etc/passwd', 'C:/x', 'a/../../b', '.git/config', 'a\\b', 'a//b', '']) {
      const errs = errorsOf(plan([task('a', [], { files: [bad] })]));
      assert.ok(errs.some((e) => e.startsWith('task a: file') || e.startsWith('tasks.0.files')), `${JSON.stringify(bad)}: ${errs.join('\n')}`);
    }
    assert.equal(validatePlan(plan([task('a', [], { files: ['src/a.ts', '.github/workflows/ci.yml'] })])).ok, true);
    assert.equal(isSafeRepoPath('.GIT/hooks/x'), false);
  });

  it('reports schema problems with their path', () => {
    const errs = errorsOf({ goal: 'g', confidence: 2, tasks: [{ id: 'bad id', title: 't', type: 'nope', prompt: 'p' }] });
    assert.ok(errs.some((e) => e.startsWith('confidence:')), errs.join('\n'));
    assert.ok(errs.some((e) => e.startsWith('tasks.0.id:')), errs.join('\n'));
    assert.ok(errs.some((e) => e.startsWith('tasks.0.type:')), errs.join('\n'));
    assert.ok(errorsOf('not an object')[0].startsWith('(root):'));
  });
});
