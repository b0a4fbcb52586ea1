import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRepoTools } from '../../src/engine/agents/tools';
import { isEngineError } from '../../src/engine/errors';
import { makeRepo, sh, type TempRepo } from '../support/queue-repo';

let repo: TempRepo;
let tree: string;
before(() => {
  repo = makeRepo({ 'README.md': 'hello\n', 'src/a.ts': 'export const alpha = 1;\n', 'src/deep/b.ts': 'const needle = 2;\n' });
  tree = sh(repo.dir, ['rev-parse', 'HEAD^{tree}']).trim();
  // Worktree-only and later content must be invisible: the tools read the tree object only.
  repo.write('untracked.txt', 'secret\n');
});
after(() => repo.cleanup());

async function refused(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => isEngineError(e, 'agent/tool-refused') && re.test(e.message));
}

describe('agent repository tools', () => {
  it('refuses paths that leave the repository or reach into .git', async () => {
    const tools = createRepoTools(repo.dir, tree);
    await refused(tools.readFile('../x'), /leaves the repository/);
    await refused(tools.readFile('src/../../x'), /leaves the repository/);
    await refused(tools.readFile('/etc/passwd'), /absolute path/);
    await refused(tools.readFile('.git/config'), /inside \.git/);
    await refused(tools.listDir('.git'), /inside \.git/);
    await refused(tools.listDir('..'), /leaves the repository/);
    await refused(tools.readFile('C:/Windows/win.ini'), /absolute path/);
    await refused(tools.readFile('src\\a.ts'), /not allowed/);
  });

  it('reads files, lists folders and searches text at the given tree only', async () => {
    const tools = createRepoTools(repo.dir, tree);
    assert.equal(await tools.readFile('src/a.ts'), 'export const alpha = 1;\n');
    assert.equal(await tools.readFile('./src/a.ts'), 'export const alpha = 1;\n');
    assert.equal(await tools.listDir(''), 'README.md\nsrc/');
    assert.equal(await tools.listDir('src'), 'a.ts\ndeep/');
    assert.equal(await tools.search('needle'), 'src/deep/b.ts:1:const needle = 2;');
    assert.equal(await tools.search('-e'), '(no matches)');
    await assert.rejects(tools.readFile('untracked.txt'), /no file "untracked.txt"/);
    await assert.rejects(tools.readFile('src'), /is a folder/);
    await assert.rejects(tools.listDir('README.md'), /is a file/);
  });
});
