import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { matchesGlob } from '../../src/engine/changes/glob';
import {
  checkPatchPolicy,
  DEFAULT_PROTECTED_PATHS,
  isGitLikeComponent,
  policyError,
  type PolicyRule,
} from '../../src/engine/changes/policy';
import { checkTreeEntries, entriesFromDiffTree, parseDiffTreeRaw } from '../../src/engine/changes/treePolicy';
import { isEngineError } from '../../src/engine/errors';
import { git } from '../../src/engine/git/exec';
import { quoteCPath } from '../../src/engine/changes/paths';

/** A one-line modification of `p`, quoted the way git would quote it. */
function modify(p: string): string {
  const a = quoteCPath(`a/${p}`);
  const b = quoteCPath(`b/${p}`);
  return `diff --git ${a} ${b}\n--- ${a}\n+++ ${b}\n@@ -1 +1 @@\n-old\n+new\n`;
}

function add(p: string, mode = '100644'): string {
  const b = quoteCPath(`b/${p}`);
  return `diff --git ${quoteCPath(`a/${p}`)} ${b}\nnew file mode ${mode}\n--- /dev/null\n+++ ${b}\n@@ -0,0 +1 @@\n+new\n`;
}

function rulesOf(patch: string, opts = {}): PolicyRule[] {
  return checkPatchPolicy(patch, opts).violations.map((v) => v.rule);
}

describe('checkPatchPolicy', () => {
  it('passes a benign patch with no violations', () => {
    const r = checkPatchPolicy(modify('src/app.ts') + add('src/new file.ts'));
    assert.deepEqual(r, { files: ['src/app.ts', 'src/new file.ts'], violations: [], blocked: false, needsExplicitApproval: false });
  });

  const hostile: Array<[PolicyRule, string, string]> = [
    ['absolute-path', 'an absolute path', modify('/etc/passwd').replace(/a\/\/etc/g, 'a//etc').replace(/b\/\/etc/g, 'b//etc')],
    ['absolute-path', 'a Windows drive path', modify('C:/Windows/win.ini')],
    ['path-escape', 'a ".." escape', modify('../outside.txt')],
    ['path-escape', 'a ".." in the middle', modify('src/../../outside.txt')],
    ['git-dir', 'a .git path', add('.git/hooks/pre-commit')],
    ['symlink', 'a new symlink', 'diff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n+++ b/l\n@@ -0,0 +1 @@\n+/etc/passwd\n\\ No newline at end of file\n'],
    ['symlink', 'a modified symlink', 'diff --git a/l b/l\nindex 1111111..2222222 120000\n--- a/l\n+++ b/l\n@@ -1 +1 @@\n-x\n+/etc\n'],
    ['gitlink', 'a submodule bump', 'diff --git a/sub b/sub\nindex 1111111..2222222 160000\n--- a/sub\n+++ b/sub\n@@ -1 +1 @@\n-Subproject commit 1111111111111111111111111111111111111111\n+Subproject commit 2222222222222222222222222222222222222222\n'],
    ['binary', 'a binary diff', 'diff --git a/x.bin b/x.bin\nindex 1111111..2222222 100644\nBinary files a/x.bin and b/x.bin differ\n'],
    ['binary', 'a GIT binary patch', 'diff --git a/x.bin b/x.bin\nindex 1111111..2222222 100644\nGIT binary patch\nliteral 5\nMcmb=ZtSV;!00x}_;{X5v\n\nliteral 1\nIcmb;b004Oac>n+a\n\n'],
    ['exec-mode', 'a new executable', add('run.sh', '100755')],
    ['exec-mode', 'a mode change to executable', 'diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n'],
    ['control-char', 'a newline in a path', modify('evil\nname')],
    ['control-char', 'a bidi override in a path', modify('src/\u202egnp.ts')],
    ['backslash', 'a backslash in a path', modify('src\\..\\..\\x')],
  ];
  for (const [rule, what, patch] of hostile) {
    it(`blocks ${what} under ${rule}`, () => {
      const r = checkPatchPolicy(patch);
      assert.ok(r.blocked, JSON.stringify(r));
      const v = r.violations.find((x) => x.rule === rule);
      assert.ok(v, `no ${rule} in ${JSON.stringify(r.violations)}`);
      assert.equal(v.severity, 'block');
      assert.ok(v.message.startsWith(`${rule}:`), v.message);
      const err = policyError(r);
      assert.ok(isEngineError(err, 'policy/'));
      assert.equal(err.code, `policy/${r.violations.find((x) => x.severity === 'block')!.rule}`);
    });
  }

  it('blocks a patch over the size limit', () => {
    const r = checkPatchPolicy(modify('a.txt'), { maxPatchBytes: 20 });
    assert.deepEqual(rulesOf(modify('a.txt'), { maxPatchBytes: 20 }), ['size-limit']);
    assert.equal(policyError(r).code, 'policy/size-limit');
    assert.equal(checkPatchPolicy(modify('a.txt'), { maxPatchBytes: 10_000 }).blocked, false);
  });

  it('keeps an unchanged executable mode and a deletion of an executable allowed', () => {
    const unchanged = 'diff --git a/run.sh b/run.sh\nindex 1111111..2222222 100755\n--- a/run.sh\n+++ b/run.sh\n@@ -1 +1 @@\n-a\n+b\n';
    const deleted = 'diff --git a/run.sh b/run.sh\ndeleted file mode 100755\n--- a/run.sh\n+++ /dev/null\n@@ -1 +0,0 @@\n-a\n';
    assert.deepEqual(rulesOf(unchanged + deleted), []);
  });

  it('asks for explicit approval, without blocking, for protected paths', () => {
    const cases: Array<[string, PolicyRule]> = [
      ['.env', 'protected-path'], ['.env.local', 'protected-path'], ['apps/web/.env.production', 'protected-path'], ['.github/workflows/ci.yml', 'protected-path'],
      ['package-lock.json', 'protected-path'], ['pkg/a/package-lock.json', 'protected-path'], ['Cargo.lock', 'protected-path'], ['go.sum', 'protected-path'],
      // Files with a reason of their own are reported under it (see policy-high-risk.test.ts).
      ['.vscode/settings.json', 'hyperion-config'], ['.husky/pre-commit', 'auto-run'],
    ];
    for (const [p, rule] of cases) {
      const r = checkPatchPolicy(modify(p));
      assert.equal(r.blocked, false, p);
      assert.equal(r.needsExplicitApproval, true, p);
      assert.deepEqual(r.violations.map((v) => [v.rule, v.path, v.severity]), [[rule, p, 'needs-approval']]);
      assert.equal(policyError(r).code, `policy/${rule}`);
    }
  });

  it('sees protected paths through NTFS and HFS+ spellings', () => {
    for (const p of ['.ENV', '.env.', '.env ', '.e\u200dnv', '.github./workflows/ci.yml']) {
      assert.deepEqual(rulesOf(modify(p)), ['protected-path'], JSON.stringify(p));
    }
  });

  it('uses the caller\'s protected paths instead of the defaults', () => {
    assert.deepEqual(rulesOf(modify('.env'), { protectedPaths: ['secrets/**'] }), []);
    assert.deepEqual(rulesOf(modify('secrets/deep/key.pem'), { protectedPaths: ['secrets/**'] }), ['protected-path']);
  });

  it('checks both names of a rename', () => {
    const p = 'diff --git a/src/x b/.git/x\nsimilarity index 100%\nrename from src/x\nrename to .git/x\n';
    assert.deepEqual(rulesOf(p), ['git-dir']);
  });

  it('blocks every .git spelling that some filesystem reads as .git', () => {
    for (const p of ['.GIT/config', '.git./hooks/x', '.git /hooks/x', 'sub/.Git/x', 'git~1/config', 'GIT~2/config', '.g\u200cit/config', '.git\ufeff/x', '.git::$INDEX_ALLOCATION/x']) {
      assert.ok(rulesOf(modify(p)).includes('git-dir'), p);
    }
  });

  it('lets names that merely resemble .git through', () => {
    for (const p of ['.github/README.md', 'git/x', 'src/.gitkeep', 'my.git/x', '.gitx/y']) {
      assert.ok(!rulesOf(modify(p)).includes('git-dir'), p);
    }
  });

  it('throws patch/* for text that is not a patch', () => {
    assert.throws(() => checkPatchPolicy('rm -rf /\n'), (e) => isEngineError(e, 'patch/malformed'));
  });
});

describe('isGitLikeComponent', () => {
  it('matches the .git spellings and nothing else', () => {
    for (const n of ['.git', '.GIT', '.Git', '.git.', '.git..', '.git ', '.git . ', 'git~1', 'GIT~1', '.g\u200cit', '.\u200dgit', '.git\u200e', '.git:stream']) assert.ok(isGitLikeComponent(n), JSON.stringify(n));
    for (const n of ['.github', 'git', '.gitignore', 'a.git', '.gi', '.git-x', 'git~']) assert.ok(!isGitLikeComponent(n), JSON.stringify(n));
  });
});

describe('glob matching', () => {
  it('supports *, ** and ? the way the protected list needs', () => {
    assert.ok(matchesGlob('.env.local', '.env.*'));
    assert.ok(!matchesGlob('sub/.env.local', '.env.*'));
    assert.ok(matchesGlob('sub/deep/.env', '**/.env'));
    assert.ok(matchesGlob('.env', '**/.env'));
    assert.ok(matchesGlob('.github/workflows/a/b.yml', '.github/workflows/**'));
    assert.ok(!matchesGlob('.github/workflowsx', '.github/workflows/**'));
    assert.ok(matchesGlob('a1.txt', 'a?.txt'));
    assert.ok(!matchesGlob('a/.txt', 'a?.txt'));
    assert.ok(matchesGlob('src/x/y/test.ts', 'src/**/*.ts'));
    assert.ok(matchesGlob('src/test.ts', 'src/**/*.ts'));
    assert.ok(matchesGlob('YARN.LOCK', 'yarn.lock'), 'case-insensitive by default');
    assert.ok(!matchesGlob('YARN.LOCK', 'yarn.lock', { caseSensitive: true }));
    assert.ok(matchesGlob('a+b(c).txt', 'a+b(c).txt'), 'regex characters are literal');
  });

  it('protects every default glob at least at the root', () => {
    for (const g of DEFAULT_PROTECTED_PATHS) {
      const sample = g.replace(/^\*\*\//, '').replace(/\*\*$/, 'x').replace(/\*/g, 'x');
      const r = checkPatchPolicy(modify(sample));
      assert.equal(r.violations.length, 1, g);
      assert.ok(r.needsExplicitApproval && !r.blocked, g);
      assert.ok(['protected-path', 'auto-run', 'hyperion-config'].includes(r.violations[0]!.rule), g);
    }
  });
});

describe('checkTreeEntries', () => {
  const benign = [
    { mode: '100644', type: 'blob' as const, path: 'src/a.ts' },
    { mode: '100755', type: 'blob' as const, path: 'bin/run' },
  ];

  it('passes plain files and executables that were already executable', () => {
    assert.deepEqual(checkTreeEntries(benign, { baseModes: new Map([['bin/run', '100755']]) }), []);
  });

  const hostile: Array<[PolicyRule, { mode: string; type: 'blob' | 'tree' | 'commit'; path: string }]> = [
    ['exec-mode', { mode: '100755', type: 'blob', path: 'bin/new' }],
    ['exec-mode', { mode: '100664', type: 'blob', path: 'odd' }],
    ['symlink', { mode: '120000', type: 'blob', path: 'link' }],
    ['gitlink', { mode: '160000', type: 'commit', path: 'vendor/sub' }],
    ['git-dir', { mode: '100644', type: 'blob', path: 'x/.GIT/config' }],
    ['git-dir', { mode: '100644', type: 'blob', path: 'git~1/config' }],
    ['control-char', { mode: '100644', type: 'blob', path: 'a\u0007b' }],
    ['backslash', { mode: '100644', type: 'blob', path: 'a\\b' }],
    ['path-escape', { mode: '100644', type: 'blob', path: 'a/../../b' }],
    ['absolute-path', { mode: '100644', type: 'blob', path: '/abs' }],
  ];
  for (const [rule, entry] of hostile) {
    it(`blocks ${JSON.stringify(entry.path)} (${entry.mode}) under ${rule}`, () => {
      const v = checkTreeEntries([entry], {});
      assert.ok(v.some((x) => x.rule === rule && x.severity === 'block' && x.path === entry.path), JSON.stringify(v));
    });
  }

  it('asks for approval for protected paths, including deletions', () => {
    const v = checkTreeEntries([{ mode: '000000', type: 'blob', path: '.github/workflows/ci.yml' }], {});
    assert.deepEqual(v.map((x) => [x.rule, x.severity]), [['protected-path', 'needs-approval']]);
  });
});

describe('parseDiffTreeRaw', () => {
  it('reads real diff-tree -z output and feeds checkTreeEntries', async () => {
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-'));
    try {
      const commit = ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'c'];
      await git(['init', '-q'], { cwd: repo });
      fs.writeFileSync(path.join(repo, 'keep.sh'), 'a\n');
      fs.writeFileSync(path.join(repo, 'gone.txt'), 'g\n');
      fs.writeFileSync(path.join(repo, 'moved.txt'), 'a long enough body to be found as a rename\n');
      await git(['add', '.'], { cwd: repo });
      await git(['update-index', '--chmod=+x', 'keep.sh'], { cwd: repo });
      await git(commit, { cwd: repo });
      fs.writeFileSync(path.join(repo, 'keep.sh'), 'b\n');
      fs.rmSync(path.join(repo, 'gone.txt'));
      fs.writeFileSync(path.join(repo, 'new\tname.txt'), 'n\n');
      fs.renameSync(path.join(repo, 'moved.txt'), path.join(repo, 'there.txt'));
      fs.symlinkSync('keep.sh', path.join(repo, 'link'));
      fs.mkdirSync(path.join(repo, '.github/workflows'), { recursive: true });
      fs.writeFileSync(path.join(repo, '.github/workflows/ci.yml'), 'on: push\n');
      await git(['add', '-A'], { cwd: repo });
      await git(commit, { cwd: repo });

      const out = (await git(['diff-tree', '-r', '-z', '--raw', '--no-renames', 'HEAD'], { cwd: repo })).stdout;
      const rows = parseDiffTreeRaw(out);
      const byPath = new Map(rows.map((r) => [r.path, r]));
      assert.deepEqual([...byPath.keys()].sort(), ['.github/workflows/ci.yml', 'gone.txt', 'keep.sh', 'link', 'moved.txt', 'new\tname.txt', 'there.txt']);
      assert.equal(byPath.get('gone.txt')!.status, 'D');
      assert.equal(byPath.get('keep.sh')!.oldMode, '100755');
      assert.equal(byPath.get('link')!.newMode, '120000');

      const { entries, baseModes } = entriesFromDiffTree(rows);
      const v = checkTreeEntries(entries, { baseModes });
      assert.deepEqual(
        v.map((x) => [x.rule, x.path]).sort(),
        [['control-char', 'new\tname.txt'], ['protected-path', '.github/workflows/ci.yml'], ['symlink', 'link']].sort(),
      );

      const renamed = parseDiffTreeRaw((await git(['diff-tree', '-r', '-z', '--raw', '-M', 'HEAD~1', 'HEAD'], { cwd: repo })).stdout);
      const r = renamed.find((x) => x.status === 'R')!;
      assert.deepEqual([r.oldPath, r.path, r.score], ['moved.txt', 'there.txt', 100]);
    } finally {
      fs.rmSync(repo, { recursive: true, force: true });
    }
  });

  it('refuses output it does not understand with git/bad-output', () => {
    assert.throws(() => parseDiffTreeRaw('not raw\0x\0'), (e) => isEngineError(e, 'git/bad-output'));
    assert.throws(() => parseDiffTreeRaw(`:100644 100644 ${'a'.repeat(40)} ${'b'.repeat(40)} M\0`), (e) => isEngineError(e, 'git/bad-output'));
    assert.deepEqual(parseDiffTreeRaw(''), []);
  });
});
