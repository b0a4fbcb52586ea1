import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ignoreAnswersInProcess, ignoredPaths } from '../../src/engine/git/ignoredPaths';
import { parseIgnoreRules } from '../../src/engine/git/ignoreRules';
import { makeRepo } from '../support/queue-repo';

const cleanups: Array<() => void> = [];
after(() => cleanups.forEach((c) => c()));

const PATHS = [
  'a.ts', 'a.log', 'logs/a.ts', 'src/a.log', 'dist/x.js', 'src/dist/x.js', 'src/dist', 'build', 'build/a', 'src/build/a', 'node_modules/x/y.js',
  'src/gen/a.ts', 'gen/a.ts', 'src/gen', 'docs/tmp/a.md', 'docs/a.tmp', 'docs/sub/a.tmp', 'src/a.tmp', 'x/cache1/a', 'x/cacheAB/a', 'Secret.txt',
  'secret.txt', 'deep/a/b/c.bak', 'only/here.txt', 'sub/only/here.txt', 'src/out/a', 'src/x/out/a',
];

/** Ignore files in the plain subset, at several levels, plus info/exclude. */
const RULES: Record<string, string> = {
  '': '# comment\nnode_modules/\ndist/\n*.log\n/build\n  \nsecret.txt   \nx/cache?/\n*.bak\n/only/here.txt\n',
  src: 'gen/\nout\n*.tmp\n',
  docs: '/tmp/\nsub/*.tmp\n',
};

function gitignoreAt(rules: Record<string, string>) {
  return async (d: string) => rules[d];
}

describe('ignore rules decided without git', () => {
  it('agree with git check-ignore on plain rules at several levels and info/exclude', async () => {
    const repo = makeRepo({ 'README.md': 'x\n' });
    cleanups.push(() => repo.cleanup());
    fs.writeFileSync(path.join(repo.dir, '.git/info/exclude'), 'x/cacheAB/\n');
    const before = ignoreAnswersInProcess();
    const here = await ignoredPaths(repo.dir, PATHS, gitignoreAt(RULES));
    assert.equal(ignoreAnswersInProcess(), before + 1, 'decided in this process');
    const byGit = await ignoredPaths(repo.dir, PATHS, gitignoreAt(RULES), undefined, { askGit: true });
    assert.deepEqual([...here].sort(), [...byGit].sort());
    // A sample of what git says, so two equally wrong answers fail too.
    for (const p of ['dist/x.js', 'src/dist/x.js', 'a.log', 'build/a', 'src/gen/a.ts', 'docs/tmp/a.md', 'x/cache1/a', 'x/cacheAB/a', 'secret.txt', 'only/here.txt']) assert.ok(byGit.has(p), p);
    for (const p of ['a.ts', 'src/build/a', 'gen/a.ts', 'docs/a.tmp', 'sub/only/here.txt', 'Secret.txt']) assert.ok(!byGit.has(p), p);
  });

  it('leaves rules outside the plain subset to git', async () => {
    const repo = makeRepo({ 'README.md': 'x\n' });
    cleanups.push(() => repo.cleanup());
    for (const text of ['*.log\n!keep.log\n', 'a/**/b\n', '[ab].txt\n', 'a\\ b\n', 'x\r\n']) assert.equal(parseIgnoreRules(text, '', false), undefined, JSON.stringify(text));
    const before = ignoreAnswersInProcess();
    const got = await ignoredPaths(repo.dir, ['a.log', 'keep.log'], gitignoreAt({ '': '*.log\n!keep.log\n' }));
    assert.equal(ignoreAnswersInProcess(), before);
    assert.deepEqual([...got], ['a.log']);
  });
});
