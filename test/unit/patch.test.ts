import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { excludeFiles, parsePatch, patchFiles } from '../../src/engine/changes/patch';
import { checkPatchPolicy } from '../../src/engine/changes/policy';
import { repairPatch } from '../../src/engine/changes/repair';
import { EngineError, isEngineError } from '../../src/engine/errors';
import { git } from '../../src/engine/git/exec';
import { prng } from '../support/random';

let repo = '';
const commitArgs = ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm'];

function write(rel: string, content: string | Buffer): void {
  fs.mkdirSync(path.dirname(path.join(repo, rel)), { recursive: true });
  fs.writeFileSync(path.join(repo, rel), content);
}

before(async () => {
  repo = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-'));
  await git(['init', '-q'], { cwd: repo });
  write('keep.txt', 'k1\nk2\nk3\n');
  write('edit.txt', 'e1\ne2\ne3\n');
  write('gone.txt', 'bye\n');
  write('old name.txt', 'a fairly long file body\nthat stays the same\nacross the rename\n');
  write('tool.sh', 'echo hi\n');
  write('img.bin', Buffer.from([0, 1, 2, 3, 255, 0, 9]));
  await git(['add', '.'], { cwd: repo });
  await git([...commitArgs, 'base'], { cwd: repo });
});
after(() => fs.rmSync(repo, { recursive: true, force: true }));

/** Stages a varied change set and returns `git diff --cached` of it, then resets the index and tree. */
async function realDiff(): Promise<string> {
  write('edit.txt', 'e1\nE2\ne3\n');
  fs.rmSync(path.join(repo, 'gone.txt'));
  fs.renameSync(path.join(repo, 'old name.txt'), path.join(repo, 'new name.txt'));
  fs.chmodSync(path.join(repo, 'tool.sh'), 0o755);
  write('img.bin', Buffer.from([0, 1, 2, 3, 254, 0, 9, 7]));
  write('tab\there.txt', 'tabbed\n');
  write('dir/new.txt', 'fresh\nno eol');
  fs.symlinkSync('edit.txt', path.join(repo, 'link'));
  await git(['add', '-A'], { cwd: repo });
  await git(['-c', 'core.fileMode=true', 'update-index', '--chmod=+x', 'tool.sh'], { cwd: repo });
  const r = await git(['diff', '--cached', '-M', '--binary'], { cwd: repo });
  return r.stdout;
}

async function applyCheck(patch: string): Promise<{ ok: boolean; stderr: string }> {
  const r = await git(['apply', '--check', '-'], { cwd: repo, input: patch, check: false });
  return { ok: r.code === 0, stderr: r.stderr };
}

describe('parsePatch on real git output', () => {
  let diff = '';
  before(async () => {
    diff = await realDiff();
    await git([...commitArgs, 'varied'], { cwd: repo });
    await git(['reset', '-q', '--hard', 'HEAD~1'], { cwd: repo });
  });

  it('reads every kind of file section git writes', () => {
    const files = parsePatch(diff).files;
    const by = (p: string) => files.find((f) => f.newPath === p || f.oldPath === p)!;
    assert.equal(by('edit.txt').status, 'modify');
    assert.deepEqual(by('edit.txt').hunks[0]!.lines, [' e1', '-e2', '+E2', ' e3']);
    assert.equal(by('gone.txt').status, 'delete');
    assert.equal(by('gone.txt').newPath, null);
    const renamed = by('new name.txt');
    assert.equal(renamed.status, 'rename');
    assert.equal(renamed.oldPath, 'old name.txt');
    const tool = by('tool.sh');
    assert.equal(tool.oldMode, '100644');
    assert.equal(tool.newMode, '100755');
    assert.equal(by('img.bin').isBinary, true);
    assert.equal(by('tab\there.txt').status, 'add');
    const fresh = by('dir/new.txt');
    assert.equal(fresh.newMode, '100644');
    assert.equal(fresh.hunks[0]!.lines.at(-1), '\\ No newline at end of file');
    assert.equal(by('link').isSymlink, true);
    assert.deepEqual(
      patchFiles(parsePatch(diff)).sort(),
      ['dir/new.txt', 'edit.txt', 'gone.txt', 'img.bin', 'link', 'new name.txt', 'old name.txt', 'tab\there.txt', 'tool.sh'].sort(),
    );
  });

  it('leaves real git output untouched when repairing', () => {
    assert.deepEqual(repairPatch(diff), { patch: diff, repairs: [] });
  });

  it('drops one file and keeps the rest applicable', async () => {
    assert.ok((await applyCheck(diff)).ok);
    const rest = excludeFiles(diff, ['edit.txt', 'new name.txt']);
    assert.deepEqual(
      patchFiles(parsePatch(rest)).sort(),
      ['dir/new.txt', 'gone.txt', 'img.bin', 'link', 'tab\there.txt', 'tool.sh'].sort(),
    );
    const res = await applyCheck(rest);
    assert.ok(res.ok, res.stderr);
    await git(['apply', '-'], { cwd: repo, input: rest });
    assert.equal(fs.readFileSync(path.join(repo, 'edit.txt'), 'utf8'), 'e1\ne2\ne3\n');
    assert.ok(fs.existsSync(path.join(repo, 'old name.txt')));
    assert.ok(!fs.existsSync(path.join(repo, 'gone.txt')));
    await git(['reset', '-q', '--hard'], { cwd: repo });
    await git(['clean', '-qfd'], { cwd: repo });
  });

  it('returns an empty string when every file is excluded', () => {
    assert.equal(excludeFiles(diff, patchFiles(parsePatch(diff))), '');
  });
});

describe('parsePatch details', () => {
  it('decodes C-quoted paths with escapes and octal UTF-8 bytes', () => {
    const p = 'diff --git "a/\\t" "b/\\t"\nnew file mode 100644\n--- /dev/null\n+++ "b/\\t"\n@@ -0,0 +1 @@\n+x\n' +
      'diff --git "a/caf\\303\\251 \\"q\\"" "b/caf\\303\\251 \\"q\\""\n--- "a/caf\\303\\251 \\"q\\""\n+++ "b/caf\\303\\251 \\"q\\""\n@@ -1 +1 @@\n-a\n+b\n';
    const files = parsePatch(p).files;
    assert.equal(files[0]!.newPath, '\t');
    assert.equal(files[1]!.newPath, 'café "q"');
  });

  it('reads a plain unified diff with timestamps', () => {
    const p = '--- a/x.c\t2024-01-01 00:00:00.000000000 +0000\n+++ b/x.c\t2024-01-02 00:00:00.000000000 +0000\n@@ -1 +1,2 @@\n a\n+b\n';
    const f = parsePatch(p).files[0]!;
    assert.deepEqual([f.oldPath, f.newPath, f.status], ['x.c', 'x.c', 'modify']);
  });

  it('reads a mode-only change and a gitlink', () => {
    const p = 'diff --git a/s b/s\nold mode 100644\nnew mode 100755\n' +
      'diff --git a/sub b/sub\nindex 1111111..2222222 160000\n--- a/sub\n+++ b/sub\n@@ -1 +1 @@\n-Subproject commit 1111111111111111111111111111111111111111\n+Subproject commit 2222222222222222222222222222222222222222\n';
    const [mode, sub] = parsePatch(p).files;
    assert.deepEqual([mode!.oldMode, mode!.newMode, mode!.hunks.length], ['100644', '100755', 0]);
    assert.equal(sub!.isGitlink, true);
  });

  const malformed: Array<[string, string, number]> = [
    ['garbage', 'hello world\n', 1],
    ['a hunk longer than its header', '--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n+c\n', 6],
    ['a hunk shorter than its header', '--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n-a\n+b\n', 3],
    ['a broken hunk header', '--- a/x\n+++ b/x\n@@ -x +1 @@\n-a\n', 3],
    ['inconsistent names', 'diff --git a/x b/x\n--- a/y\n+++ b/y\n@@ -1 +1 @@\n-a\n+b\n', 1],
    ['a section with no changes', 'diff --git a/x b/x\n', 1],
    ['no final newline', '--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b', 5],
    ['a CRLF header', 'diff --git a/x b/x\r\n--- a/x\r\n+++ b/x\r\n@@ -1 +1 @@\r\n-a\r\n+b\r\n', 1],
    ['prose between sections', '--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\nand then\n--- a/y\n+++ b/y\n@@ -1 +1 @@\n-a\n+b\n', 6],
    ['bad quoting', 'diff --git "a/x b/x\n--- "a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n', 2],
  ];
  for (const [what, text, line] of malformed) {
    it(`refuses ${what} with patch/malformed naming line ${line}`, () => {
      assert.throws(
        () => parsePatch(text),
        (e) => isEngineError(e, 'patch/malformed') && e.message.includes(`line ${line}:`) && e.details?.line === line,
      );
    });
  }

  it('calls blank input patch/empty', () => {
    assert.throws(() => parsePatch(''), (e) => isEngineError(e, 'patch/empty'));
    assert.throws(() => parsePatch('\n \n'), (e) => isEngineError(e, 'patch/empty'));
  });
});


const SEEDS = [
  'diff --git a/src/app.ts b/src/app.ts\nindex 1111111..2222222 100644\n--- a/src/app.ts\n+++ b/src/app.ts\n@@ -1,4 +1,4 @@\n const a = 1;\n-const b = 2;\n+const b = 3;\n \n export {};\n',
  'diff --git "a/t\\tz" "b/t\\tz"\nnew file mode 100755\n--- /dev/null\n+++ "b/t\\tz"\n@@ -0,0 +1 @@\n+hi\n\\ No newline at end of file\ndiff --git a/old b/new\nsimilarity index 90%\nrename from old\nrename to new\n--- a/old\n+++ b/new\n@@ -1 +1 @@\n-x\n+y\n',
  '```diff\n--- src/a.ts\n+++ src/a.ts\n@@ -1,2 +1,9 @@\n a\n-b\n+c\n\n```\n',
  'diff --git a/m b/m\nold mode 100644\nnew mode 100755\ndiff --git a/x y b/x y\nindex 1111111..2222222 100644\n--- a/x y\n+++ b/x y\n@@ -1 +1 @@\n-x\n+y\n',
  'diff --git a/img b/img\nindex 1111111..2222222 100644\nGIT binary patch\nliteral 5\nMcmb=ZtSV;!00x}_;{X5v\n\nliteral 1\nIcmb;b004Oac>n+a\n\ndiff --git a/m b/m\nold mode 100644\nnew mode 100755\n',
];
const INSERTS = ['a/', 'b/', ' b/', '--- a/q\n+++ b/q\n', 'diff --git a/p b/p\n', 'rename to z\n', '\n', ' ', '+', '-', '@', '\\', '"', '/', '\t', '\r', '\0', '@@ -1 +1 @@', 'diff --git a/x b/x', '--- ', '+++ ', '\u200c', '999999999999', ','];

function mutate(text: string, rnd: () => number): string {
  let t = text;
  const n = 1 + Math.floor(rnd() * 4);
  for (let k = 0; k < n; k++) {
    const pos = Math.floor(rnd() * (t.length + 1));
    const op = Math.floor(rnd() * 6);
    if (op === 0) t = t.slice(0, pos) + t.slice(pos + 1 + Math.floor(rnd() * 8));
    else if (op === 1) t = t.slice(0, pos) + INSERTS[Math.floor(rnd() * INSERTS.length)]! + t.slice(pos);
    else if (op === 2) t = t.slice(0, pos);
    else if (op === 3) {
      const lines = t.split('\n');
      const i = Math.floor(rnd() * lines.length);
      lines.splice(i, 0, lines[Math.floor(rnd() * lines.length)]!);
      t = lines.join('\n');
    } else if (op === 4) {
      const lines = t.split('\n');
      lines.splice(Math.floor(rnd() * lines.length), 1);
      t = lines.join('\n');
    } else t = t.replace(/\d+/, String(Math.floor(rnd() * 20)));
  }
  return t;
}

describe('fuzzing the patch functions', () => {
  it('never throws anything but patch/* EngineErrors on 600 random mutations, and always finishes', () => {
    const rnd = prng(0xc0ffee);
    const started = Date.now();
    let parsed = 0;
    for (let n = 0; n < 600; n++) {
      const text = mutate(SEEDS[n % SEEDS.length]!, rnd);
      const calls: Array<() => unknown> = [
        () => parsePatch(text),
        () => repairPatch(text),
        () => excludeFiles(text, ['src/app.ts', 'new']),
        () => checkPatchPolicy(text, {}),
      ];
      for (const call of calls) {
        try {
          call();
          parsed++;
        } catch (e) {
          assert.ok(e instanceof EngineError, `non-EngineError for ${JSON.stringify(text)}: ${String(e)}`);
          assert.match(e.code, /^patch\//, `unexpected code ${e.code} for ${JSON.stringify(text)}`);
        }
      }
    }
    assert.ok(parsed > 0, 'some mutations should still parse');
    assert.ok(Date.now() - started < 60_000, 'fuzzing took far too long');
  });

  it('agrees with git apply on the files of every mutated patch it accepts', async () => {
    // The policy reads our parse and git applies the text: they must name the same files.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-'));
    try {
      await git(['init', '-q'], { cwd: dir });
      const rnd = prng(7);
      let compared = 0;
      for (let n = 0; n < 2000 && compared < 150; n++) {
        const text = mutate(SEEDS[n % SEEDS.length]!, rnd);
        let ours: string[];
        try {
          // `git apply --numstat` names a rename by its new path only.
          ours = [...new Set(parsePatch(text).files.map((f) => (f.newPath ?? f.oldPath)!))].sort();
        } catch {
          continue;
        }
        compared++;
        const r = await git(['apply', '--numstat', '-z', '-'], { cwd: dir, input: text, check: false });
        if (r.code !== 0) continue; // git being stricter than us is fine: nothing lands
        const theirs = r.stdout
          .split('\0')
          .map((f) => /^[-\d]+\t[-\d]+\t(.*)$/s.exec(f)?.[1])
          .filter((f): f is string => f !== undefined && f !== '');
        // Danger is git touching a file we did not check; git seeing fewer (it stops at a
        // corrupt binary block, say) only makes the apply fail.
        for (const f of theirs) assert.ok(ours.includes(f), `git applies ${JSON.stringify(f)} which the parser missed in ${JSON.stringify(text)}`);
      }
      assert.ok(compared >= 50, `only ${compared} mutations parsed`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('repair output always parses and repairing it again changes nothing', () => {
    const rnd = prng(42);
    for (let n = 0; n < 300; n++) {
      const text = mutate(SEEDS[n % SEEDS.length]!, rnd);
      let first: { patch: string } | undefined;
      try {
        first = repairPatch(text);
      } catch (e) {
        assert.ok(isEngineError(e, 'patch/'), String(e));
        continue;
      }
      assert.doesNotThrow(() => parsePatch(first!.patch));
      assert.equal(repairPatch(first.patch).patch, first.patch, `not idempotent for ${JSON.stringify(text)}`);
    }
  });
});
