import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { RunnablePlan } from '../../src/engine/api';
import { EngineConfig } from '../../src/engine/config';
import { createEngine } from '../../src/engine/engine';
import { silentLogger } from '../../src/engine/ports';
import { resolvePatch } from '../../src/engine/changes/resolve';
import { applyAndDiff } from '../../src/engine/git/batch';
import { landablePatch } from '../../src/engine/queue/prepare';
import { makeQueueFixture } from '../support/queue-fixture';
import { makeRepo, sh } from '../support/queue-repo';
import { prng } from '../support/random';

/**
 * A valid patch lands exactly as `git apply` makes it (issue 9, A1). The patches here are real
 * `git diff` output (some with blank context lines left empty, which git also applies) over
 * content built to look repairable: Markdown fences, lines that look like diff headers or hunk
 * headers, `\ No newline at end of file`, CRLF, tabs, trailing spaces, unicode. Each is sent
 * through the pipeline and the resulting tree compared with `git apply` of the original in a
 * scratch index.
 *
 * PATCH_VALID_SEED explores other inputs (the default is fixed); PATCH_VALID_N sets the count.
 */
const SEED = Number(process.env.PATCH_VALID_SEED ?? 91130);
const N = Number(process.env.PATCH_VALID_N ?? 40);

const POOL = [
  '```', '```ts', '~~~', '   ```', '````markdown', 'diff --git a/x b/x', '--- a/README.md', '+++ b/README.md', '-- a/notes.md', '++ b/notes.md',
  '-- signature', '@@ -1,2 +1,2 @@', '@@ nope @@', '', '', '', 'plain text', 'trailing spaces   ', '\tindented with a tab', 'mixed \t tab\t',
  'héllo wörld ✓ 日本語 🚀', '\\ No newline at end of file', 'index abc..xyz', 'new file mode 100755', '--- ', '+++ ', 'Binary files a and b differ',
  'GIT binary patch', 'literal 0', '> quoted', '# heading', '- [ ] item', '+ added bullet', ' leading space',
];

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

function randomLines(r: Rand, n: number, crlf: boolean): string[] {
  return Array.from({ length: n }, () => {
    const l = pick(r, POOL);
    return crlf && r() < 0.8 ? `${l}\r` : l;
  });
}

function render(lines: string[], finalNewline: boolean): string {
  if (lines.length === 0) return '';
  return lines.join('\n') + (finalNewline ? '\n' : '');
}

interface Case {
  file: string;
  before: string | null;
  after: string | null;
  blankContext: boolean;
  /** Lines of context git prints around each change (git apply needs at least one). */
  context: number;
}

function randomCase(r: Rand, i: number): Case {
  const names = [`case-${i}.md`, `docs/dé ${i}.md`, `src/case_${i}.txt`];
  const file = pick(r, names);
  const crlf = r() < 0.3;
  const kind = r() < 0.7 ? 'modify' : r() < 0.5 ? 'create' : 'delete';
  const base = randomLines(r, 3 + Math.floor(r() * 25), crlf);
  const next = [...base];
  for (let k = 1 + Math.floor(r() * 4); k > 0; k--) {
    const at = Math.floor(r() * (next.length + 1));
    const op = r();
    if (op < 0.35) next.splice(at, 0, ...randomLines(r, 1 + Math.floor(r() * 3), crlf));
    else if (op < 0.7 && next.length > 1) next.splice(Math.min(at, next.length - 1), 1 + Math.floor(r() * 2));
    else if (next.length > 0) next[Math.min(at, next.length - 1)] = pick(r, POOL) + (crlf ? '\r' : '');
  }
  const beforeText = render(base, r() > 0.2);
  let afterText = render(next, r() > 0.2);
  if (afterText === beforeText) afterText += '```\n';
  return {
    file,
    before: kind === 'create' ? null : beforeText,
    after: kind === 'delete' ? null : afterText,
    blankContext: r() < 0.4,
    context: 1 + Math.floor(r() * 4),
  };
}

const GIT_ENV = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@e' };

/** `git apply --cached` of `patches` in order on `baseTree`, in a scratch index; the tree, or an Error with git's reason. */
function gitApplyTree(repo: string, baseTree: string, patches: string[]): string | Error {
  const index = path.join(os.tmpdir(), `hyperion-valid-index-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const env = { ...GIT_ENV, GIT_INDEX_FILE: index };
  const run = (args: string[], input?: string) => execFileSync('git', args, { cwd: repo, env, input, encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['pipe', 'pipe', 'pipe'] });
  try {
    run(['read-tree', baseTree]);
    for (const p of patches) run(['apply', '--cached', '--whitespace=nowarn'], p);
    return run(['write-tree']).trim();
  } catch (e) {
    return new Error(String((e as { stderr?: string }).stderr ?? e));
  } finally {
    fs.rmSync(index, { force: true });
  }
}

/** Writes every case's base into the repo, commits it, and returns each case's patch as `git diff` prints it. */
function buildPatches(repo: string, cases: Case[]): string[] {
  for (const c of cases) if (c.before !== null) writeFile(repo, c.file, c.before);
  sh(repo, ['add', '-A']);
  sh(repo, ['commit', '-q', '-m', 'base of the valid-patch cases']);
  const patches = cases.map((c) => {
    const abs = path.join(repo, c.file);
    if (c.after === null) fs.rmSync(abs);
    else writeFile(repo, c.file, c.after);
    sh(repo, ['add', '-A', '--', c.file]);
    let p = sh(repo, ['diff', '--cached', '--no-color', '--no-ext-diff', `-U${c.context}`, 'HEAD', '--', c.file]);
    // git also reads an empty line inside a hunk as blank context; models write them that way.
    if (c.blankContext) p = p.split('\n').map((l) => (l === ' ' ? '' : l)).join('\n');
    return p;
  });
  sh(repo, ['reset', '-q', '--hard', 'HEAD']);
  return patches;
}

function writeFile(repo: string, rel: string, content: string): void {
  const abs = path.join(repo, rel);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  fs.writeFileSync(abs, content);
}

/** Cases with one file each, distinct files, and a patch that is not empty. */
function cases(seed: number, n: number): Case[] {
  const r = prng(seed);
  const out: Case[] = [];
  const used = new Set<string>();
  for (let i = 0; out.length < n; i++) {
    const c = randomCase(r, i);
    if (used.has(c.file)) continue;
    used.add(c.file);
    out.push(c);
  }
  return out;
}

/** A `git diff` of fence.md whose context holds a Markdown fence line. */
function fencedDiff(file: string): string {
  return `diff --git a/${file} b/${file}\n--- a/${file}\n+++ b/${file}\n@@ -1,3 +1,3 @@\n a\n \`\`\`\n-b\n+c\n`;
}

const cleanup: Array<() => void> = [];
after(() => {
  for (const f of cleanup) f();
});

describe('valid patches land exactly as git applies them', () => {
  it(`landablePatch keeps ${N} valid patches (seed ${SEED}) as git applies them`, () => {
    const repo = makeRepo({ 'README.md': 'x\n' });
    cleanup.push(() => repo.cleanup());
    const cs = cases(SEED, N);
    const patches = buildPatches(repo.dir, cs);
    const baseTree = sh(repo.dir, ['rev-parse', 'HEAD^{tree}']).trim();
    const fenced = patches.filter((p) => /^ {1,3}```/m.test(p)).length;
    assert.ok(fenced >= 3, `the generator must produce fence context lines (got ${fenced})`);
    for (const [i, original] of patches.entries()) {
      const expected = gitApplyTree(repo.dir, baseTree, [original]);
      assert.ok(typeof expected === 'string', `seed ${SEED} case ${i}: git must apply its own diff: ${String(expected)}`);
      const landed = landablePatch({ patch: original, excluded_files_json: '[]' });
      assert.equal(landed.kind, 'patch', `seed ${SEED} case ${i}`);
      if (landed.kind !== 'patch') continue;
      assert.deepEqual(landed.repairs, [], `seed ${SEED} case ${i} (${cs[i]!.file}): a valid patch is not repaired`);
      assert.equal(gitApplyTree(repo.dir, baseTree, [landed.patch]), expected, `seed ${SEED} case ${i} (${cs[i]!.file}): the landed tree differs from git apply`);
    }
    // All of them as one multi-file patch.
    const all = patches.join('');
    const landed = landablePatch({ patch: all, excluded_files_json: '[]' });
    assert.ok(landed.kind === 'patch' && landed.repairs.length === 0, `seed ${SEED}: the multi-file patch was repaired`);
    assert.equal(gitApplyTree(repo.dir, baseTree, [landed.kind === 'patch' ? landed.patch : '']), gitApplyTree(repo.dir, baseTree, [all]));
  });

  it('reads empty blank-context lines at the very end of a patch as git does', () => {
    const repo = makeRepo({ 'a.md': 'title\n\n\n', 'b.md': 'x\n\ny\n\n' });
    cleanup.push(() => repo.cleanup());
    const baseTree = sh(repo.dir, ['rev-parse', 'HEAD^{tree}']).trim();
    // The hunks end in blank context written as empty lines, the last ones at the end of the text.
    const texts = [
      'diff --git a/a.md b/a.md\n--- a/a.md\n+++ b/a.md\n@@ -1,3 +1,3 @@\n-title\n+Title\n\n\n',
      'diff --git a/b.md b/b.md\n--- a/b.md\n+++ b/b.md\n@@ -1,4 +1,4 @@\n x\n\n-y\n+z\n\n\n\n',
    ];
    for (const text of texts) {
      const expected = gitApplyTree(repo.dir, baseTree, [text]);
      assert.ok(typeof expected === 'string', String(expected));
      const landed = landablePatch({ patch: text, excluded_files_json: '[]' });
      assert.ok(landed.kind === 'patch' && landed.repairs.length === 0, JSON.stringify(landed));
      assert.equal(gitApplyTree(repo.dir, baseTree, [landed.kind === 'patch' ? landed.patch : '']), expected);
    }
  });

  it('lands them all through the merge queue with the tree git apply makes', { timeout: 120_000 }, async () => {
    const fx = await makeQueueFixture({ 'README.md': 'x\n' });
    cleanup.push(() => fx.cleanup());
    const cs = cases(SEED + 1, Math.min(N, 24));
    const patches = buildPatches(fx.repo.dir, cs);
    const baseTree = sh(fx.repo.dir, ['rev-parse', 'HEAD^{tree}']).trim();
    const expected = gitApplyTree(fx.repo.dir, baseTree, patches);
    assert.ok(typeof expected === 'string', String(expected));
    const q = fx.queue();
    for (const [i, p] of patches.entries()) q.enqueue(fx.addChange({ taskId: `t${i}`, patch: p }), { actor: 'user', explicitApproval: true });
    await q.runUntilIdle();
    const stuck = q.list().filter((e) => e.state !== 'merged');
    assert.deepEqual(stuck.map((e) => `${e.taskId}: ${e.state} ${e.lastError ?? ''}`), [], `seed ${SEED + 1}`);
    assert.equal(sh(fx.repo.dir, ['rev-parse', 'main^{tree}']).trim(), expected);
  });

  it('lands ready-made patches through the engine with the tree git apply makes', { timeout: 120_000 }, async () => {
    const repo = makeRepo({ 'README.md': 'x\n' });
    cleanup.push(() => repo.cleanup());
    const cs = cases(SEED + 2, 12);
    const patches = buildPatches(repo.dir, cs);
    // Two texts that git applies as given but that repair would rewrite: a model's fenced answer
    // whose diff has a " ```" context line, and a plain diff whose `src/` prefix -p1 strips.
    const fenced = `Here is the patch:\n\`\`\`diff\n${fencedDiff('fence.md')}\`\`\`\nHope it helps.\n`;
    const plain = '--- src/same.txt\n+++ src/same.txt\n@@ -1 +1 @@\n-same\n+root copy changed\n';
    repo.write('fence.md', 'a\n```\nb\n');
    repo.write('same.txt', 'same\n');
    repo.write('src/same.txt', 'same\n');
    repo.commitAll('files the hand-made patches edit');
    patches.push(fenced, plain);
    cs.push({ file: 'fence.md', before: null, after: null, blankContext: false, context: 3 }, { file: 'same.txt', before: null, after: null, blankContext: false, context: 3 });
    const baseTree = sh(repo.dir, ['rev-parse', 'HEAD^{tree}']).trim();
    const expected = gitApplyTree(repo.dir, baseTree, patches);
    assert.ok(typeof expected === 'string', String(expected));
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-valid-state-'));
    cleanup.push(() => fs.rmSync(stateDir, { recursive: true, force: true }));
    const engine = await createEngine({ repo: repo.dir, stateDir, config: EngineConfig.parse({ maxRetries: 0 }), ports: { log: silentLogger, secrets: { get: async () => undefined } } });
    try {
      const plan: RunnablePlan = {
        goal: 'valid patches', rationale: '', confidence: 1, questions: [], assumptions: [],
        tasks: patches.map((p, i) => ({ id: `p${i}`, title: `case ${i}`, type: 'code_gen' as const, prompt: 'apply the patch', acceptanceCriteria: [], dependsOn: [], files: [cs[i]!.file], patch: p })),
      };
      const { done } = await engine.startRun(plan, { approve: 'all' });
      const view = await done;
      assert.deepEqual(view.tasks.filter((t) => t.status !== 'approved').map((t) => `${t.id}: ${t.status} ${t.error}`), [], `seed ${SEED + 2}`);
      await engine.runQueue();
      const stuck = engine.listQueue().filter((e) => e.state !== 'merged');
      assert.deepEqual(stuck.map((e) => `${e.taskId}: ${e.state} ${e.lastError ?? ''}`), []);
      assert.equal(engine.listQueue().length, patches.length);
      assert.equal(sh(repo.dir, ['rev-parse', 'main^{tree}']).trim(), expected);
    } finally {
      await engine.dispose();
    }
  });
});

describe('repair runs only when the patch as given does not apply', () => {
  function applyWith(repo: string, baseTree: string) {
    return async (text: string) => {
      const a = await applyAndDiff(repo, baseTree, text);
      return a.ok ? { ok: true as const, value: a } : a;
    };
  }

  it('keeps a patch git applies, even one repair would rewrite', async () => {
    const repo = makeRepo({ 'fence.md': 'a\n```\nb\n', 'same.txt': 'same\n', 'src/same.txt': 'same\n' });
    cleanup.push(() => repo.cleanup());
    const baseTree = sh(repo.dir, ['rev-parse', 'HEAD^{tree}']).trim();
    for (const text of [fencedDiff('fence.md'), `Patch:\n\`\`\`diff\n${fencedDiff('fence.md')}\`\`\`\n`, '--- src/same.txt\n+++ src/same.txt\n@@ -1 +1 @@\n-same\n+x\n']) {
      const r = await resolvePatch(text, applyWith(repo.dir, baseTree));
      assert.equal(r.kind, 'applied', text);
      if (r.kind !== 'applied') continue;
      assert.equal(r.patch, text);
      assert.deepEqual(r.repairs, []);
      assert.equal(r.value.tree, gitApplyTree(repo.dir, baseTree, [text]));
    }
  });

  it('repairs a damaged patch that does not apply, and uses the repair because it applies', async () => {
    const repo = makeRepo({ 'a.txt': 'one\ntwo\nthree\n' });
    cleanup.push(() => repo.cleanup());
    const baseTree = sh(repo.dir, ['rev-parse', 'HEAD^{tree}']).trim();
    // CRLF headers and a miscounted hunk: git refuses it as given.
    const damaged = 'diff --git a/a.txt b/a.txt\r\n--- a/a.txt\r\n+++ b/a.txt\r\n@@ -1,3 +1,9 @@\r\n one\r\n-two\r\n+2\r\n three\r\n';
    assert.ok(gitApplyTree(repo.dir, baseTree, [damaged]) instanceof Error, 'git refuses the damaged patch');
    const r = await resolvePatch(damaged, applyWith(repo.dir, baseTree));
    assert.equal(r.kind, 'applied');
    if (r.kind !== 'applied') return;
    assert.ok(r.repairs.includes('crlf-to-lf') && r.repairs.includes('recount-hunk-lengths'), r.repairs.join());
    assert.equal(sh(repo.dir, ['cat-file', '-p', `${r.value.tree}:a.txt`]), 'one\n2\nthree\n');
  });

  it("reports git's reason when neither the patch nor its repair applies", async () => {
    const repo = makeRepo({ 'a.txt': 'one\n' });
    cleanup.push(() => repo.cleanup());
    const baseTree = sh(repo.dir, ['rev-parse', 'HEAD^{tree}']).trim();
    const r = await resolvePatch('--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-not there\n+x\n', applyWith(repo.dir, baseTree));
    assert.equal(r.kind, 'does-not-apply');
    if (r.kind === 'does-not-apply') assert.match(r.error, /patch failed|does not apply/);
  });

  it('refuses in the queue a stored patch whose repair reads differently from git, and lands one that reads the same', { timeout: 60_000 }, async () => {
    const fx = await makeQueueFixture({ 'same.txt': 'same\n', 'src/same.txt': 'same\n', 'b.txt': 'b\n' });
    cleanup.push(() => fx.cleanup());
    const base = fx.repo.head();
    // git strips `src/` (-p1) and edits same.txt; the repair would read src/same.txt.
    const differs = fx.addChange({ taskId: 'differs', patch: 'Patch:\n--- src/same.txt\n+++ src/same.txt\n@@ -1 +1 @@\n-same\n+changed\n' });
    const sameReading = 'Here you go:\n\ndiff --git a/b.txt b/b.txt\n--- a/b.txt\n+++ b/b.txt\n@@ -1 +1 @@\n-b\n+B\n\nDone.\n';
    const same = fx.addChange({ taskId: 'same', patch: sameReading });
    const q = fx.queue();
    q.enqueue(differs, { actor: 'user', explicitApproval: true });
    q.enqueue(same, { actor: 'user', explicitApproval: true });
    await q.runUntilIdle();
    const byChange = new Map(q.list().map((e) => [e.changeId, e]));
    assert.equal(byChange.get(differs)!.state, 'failed');
    assert.match(byChange.get(differs)!.lastError ?? '', /reads it differently/);
    assert.equal(byChange.get(same)!.state, 'merged', byChange.get(same)!.lastError ?? '');
    const expected = gitApplyTree(fx.repo.dir, sh(fx.repo.dir, ['rev-parse', `${base}^{tree}`]).trim(), [sameReading]);
    assert.equal(sh(fx.repo.dir, ['rev-parse', 'main^{tree}']).trim(), expected);
  });
});
