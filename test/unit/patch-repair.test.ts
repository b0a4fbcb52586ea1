import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parsePatch } from '../../src/engine/changes/patch';
import { repairPatch } from '../../src/engine/changes/repair';
import { isEngineError } from '../../src/engine/errors';
import { git } from '../../src/engine/git/exec';

let repo = '';

const FILES: Record<string, string> = {
  'src/app.ts': 'const a = 1;\nconst b = 2;\n\nexport function sum() {\n  return a + b;\n}\n',
  'README.md': '# Demo\n\nHello.\n',
  'notes.txt': 'one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\n',
  'no-eol.txt': 'first\nlast',
};

before(async () => {
  repo = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-'));
  await git(['init', '-q'], { cwd: repo });
  for (const [p, c] of Object.entries(FILES)) {
    fs.mkdirSync(path.dirname(path.join(repo, p)), { recursive: true });
    fs.writeFileSync(path.join(repo, p), c);
  }
  await git(['add', '.'], { cwd: repo });
  await git(['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'base'], { cwd: repo });
});
after(() => fs.rmSync(repo, { recursive: true, force: true }));

async function applyCheck(patch: string): Promise<{ ok: boolean; stderr: string }> {
  const r = await git(['apply', '--check', '-'], { cwd: repo, input: patch, check: false });
  return { ok: r.code === 0, stderr: r.stderr };
}

async function assertRepairs(broken: string, expectedRules: string[]): Promise<string> {
  const { patch, repairs } = repairPatch(broken);
  for (const rule of expectedRules) assert.ok(repairs.includes(rule), `expected ${rule} in ${JSON.stringify(repairs)}`);
  const res = await applyCheck(patch);
  assert.ok(res.ok, `git apply --check refused the repaired patch: ${res.stderr}\n${patch}`);
  return patch;
}

const GOOD = `diff --git a/src/app.ts b/src/app.ts
index 1111111..2222222 100644
--- a/src/app.ts
+++ b/src/app.ts
@@ -1,6 +1,6 @@
 const a = 1;
-const b = 2;
+const b = 3;
 
 export function sum() {
   return a + b;
 }
`;

describe('repairPatch', () => {
  it('leaves a valid git diff byte for byte alone and names no repairs', async () => {
    assert.ok((await applyCheck(GOOD)).ok);
    const r = repairPatch(GOOD);
    assert.equal(r.patch, GOOD);
    assert.deepEqual(r.repairs, []);
  });

  it('recounts hunk lengths that a model got wrong', async () => {
    const broken = GOOD.replace('@@ -1,6 +1,6 @@', '@@ -1,4 +1,9 @@');
    const fixed = await assertRepairs(broken, ['recount-hunk-lengths']);
    assert.match(fixed, /^@@ -1,6 \+1,6 @@$/m);
  });

  it('converts CRLF line endings of the whole diff to LF', async () => {
    await assertRepairs(GOOD.replace(/\n/g, '\r\n'), ['crlf-to-lf']);
  });

  it('adds the missing final newline', async () => {
    await assertRepairs(GOOD.slice(0, -1), ['add-missing-final-newline']);
  });

  it('strips markdown fences and the prose around them', async () => {
    const broken = `Here is the change you asked for:\n\n\`\`\`diff\n${GOOD}\`\`\`\n\nThis makes b equal 3.\n`;
    await assertRepairs(broken, ['strip-markdown-fence', 'strip-prose']);
  });

  it('strips prose without fences before and after the diff', async () => {
    const broken = `Sure! Apply this:\n${GOOD}Let me know if you need more.\n`;
    await assertRepairs(broken, ['strip-prose']);
  });

  it('adds the a/ and b/ prefixes and a diff --git header to a bare unified diff', async () => {
    const broken = `--- src/app.ts\n+++ src/app.ts\n@@ -1,3 +1,3 @@\n const a = 1;\n-const b = 2;\n+const b = 4;\n \n`;
    const fixed = await assertRepairs(broken, ['add-ab-prefixes', 'add-diff-git-header']);
    assert.equal(parsePatch(fixed).files[0]!.newPath, 'src/app.ts');
  });

  it('fixes missing prefixes inside a diff --git section too', async () => {
    const broken = `diff --git src/app.ts src/app.ts\n--- src/app.ts\n+++ src/app.ts\n@@ -1,3 +1,3 @@\n const a = 1;\n-const b = 2;\n+const b = 4;\n \n`;
    const fixed = await assertRepairs(broken, ['add-ab-prefixes']);
    assert.match(fixed, /^diff --git a\/src\/app\.ts b\/src\/app\.ts$/m);
  });

  it('turns an empty line inside a hunk into blank context', async () => {
    const broken = GOOD.replace('+const b = 3;\n \n', '+const b = 3;\n\n');
    await assertRepairs(broken, ['blank-context-line-missing-space']);
  });

  it('repairs a new file written as a plain diff against /dev/null', async () => {
    const broken = '--- /dev/null\n+++ src/new.ts\n@@ -0,0 +1,3 @@\n+export const x = 1;\n+export const y = 2;\n';
    const fixed = await assertRepairs(broken, ['add-ab-prefixes', 'add-diff-git-header', 'recount-hunk-lengths']);
    const f = parsePatch(fixed).files[0]!;
    assert.equal(f.status, 'add');
    assert.equal(f.newMode, '100644');
  });

  it('adds "new file mode" to a git section that creates a file without it', async () => {
    const broken = 'diff --git a/src/other.ts b/src/other.ts\n--- /dev/null\n+++ b/src/other.ts\n@@ -0,0 +1 @@\n+export {};\n';
    await assertRepairs(broken, ['add-new-file-mode']);
  });

  it('repairs several kinds of damage at once across two files', async () => {
    const broken = [
      'I changed two files.',
      '```diff',
      '--- README.md',
      '+++ README.md',
      '@@ -1,3 +1,3 @@',
      ' # Demo',
      '',
      '-Hello.',
      '+Hello, world.',
      '--- a/notes.txt',
      '+++ b/notes.txt',
      '@@ -2,4 +2,2 @@',
      ' two',
      '-three',
      '+THREE',
      ' four',
      '```',
    ].join('\r\n');
    await assertRepairs(broken, ['crlf-to-lf', 'strip-markdown-fence', 'strip-prose', 'add-ab-prefixes', 'blank-context-line-missing-space', 'recount-hunk-lengths']);
  });

  it('keeps "\\ No newline at end of file" markers working', async () => {
    const broken = '--- a/no-eol.txt\n+++ b/no-eol.txt\n@@ -1,2 +1,2 @@\n first\n-last\n\\ No newline at end of file\n+LAST\n\\ No newline at end of file';
    await assertRepairs(broken, ['add-missing-final-newline', 'add-diff-git-header']);
  });

  it('adds the ---/+++ lines a git section skipped', async () => {
    const broken = 'diff --git a/src/app.ts b/src/app.ts\n@@ -1,3 +1,3 @@\n const a = 1;\n-const b = 2;\n+const b = 4;\n \n';
    await assertRepairs(broken, ['add-file-header-lines']);
  });

  it('keeps every fenced diff when the answer has several', async () => {
    const one = '--- a/README.md\n+++ b/README.md\n@@ -1,3 +1,3 @@\n # Demo\n \n-Hello.\n+Hi.\n';
    const two = '--- a/notes.txt\n+++ b/notes.txt\n@@ -1,2 +1,2 @@\n-one\n+ONE\n two\n';
    const fixed = await assertRepairs(`First:\n\`\`\`diff\n${one}\`\`\`\nSecond:\n\`\`\`diff\n${two}\`\`\`\n`, ['strip-markdown-fence']);
    assert.equal(parsePatch(fixed).files.length, 2);
  });

  it('treats blank lines after a miscounted new-file hunk as separators', async () => {
    const broken = '--- /dev/null\n+++ b/src/made.ts\n@@ -0,0 +1,5 @@\n+export const a = 1;\n+export const b = 2;\n\n\n';
    const fixed = await assertRepairs(broken, ['recount-hunk-lengths']);
    assert.deepEqual(parsePatch(fixed).files[0]!.hunks[0]!.lines, ['+export const a = 1;', '+export const b = 2;']);
  });

  it('drops an invented index line that is not hex', async () => {
    const broken = GOOD.replace('index 1111111..2222222 100644', 'index abc123..xyz789');
    await assertRepairs(broken, ['drop-bad-index-line']);
  });

  it('refuses a hunk whose miscounted end has blank lines that may be context or separators', () => {
    const broken = '--- a/README.md\n+++ b/README.md\n@@ -1,9 +1,9 @@\n # Demo\n-x\n+y\n\n\n--- a/notes.txt\n+++ b/notes.txt\n@@ -1 +1 @@\n-one\n+ONE\n';
    assert.throws(() => repairPatch(broken), (e) => isEngineError(e, 'patch/unrepairable') && /blank line/.test(e.message));
  });

  it('refuses context lines that lost their leading space instead of guessing', () => {
    const broken = '--- a/src/app.ts\n+++ b/src/app.ts\n@@ -1,2 +1,2 @@\nconst a = 1;\n-const b = 2;\n+const b = 4;\n';
    assert.throws(() => repairPatch(broken), (e) => isEngineError(e, 'patch/unrepairable'));
  });

  it('refuses hunk-looking lines stranded between hunks', () => {
    const broken = `${GOOD}Then also:\n-const a = 1;\n+const a = 5;\n${GOOD.replace(/^diff --git.*\n/, '')}`;
    assert.throws(() => repairPatch(broken), (e) => isEngineError(e, 'patch/unrepairable'));
  });

  it('refuses a hunk header without line numbers', () => {
    assert.throws(() => repairPatch('--- a/x\n+++ b/x\n@@ @@\n-a\n+b\n'), (e) => isEngineError(e, 'patch/unrepairable'));
  });

  it('reports an empty or prose-only input as patch/empty', () => {
    assert.throws(() => repairPatch('  \n'), (e) => isEngineError(e, 'patch/empty'));
    assert.throws(() => repairPatch('I could not find anything to change.\n'), (e) => isEngineError(e, 'patch/empty'));
  });
});
