import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { hunkUnits, splitByHunks, type HunkRef } from '../../src/engine/changes/hunks';
import { EngineError } from '../../src/engine/errors';
import { prng } from '../support/random';
import { testSeeds } from '../support/store-crash-points';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function git(cwd: string, args: string[], input?: string): string {
  return execFileSync('git', args, { cwd, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

function repoWith(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-hunks-'));
  dirs.push(dir);
  git(dir, ['init', '-q', '-b', 'main']);
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
  git(dir, ['add', '-A']);
  git(dir, ['-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-q', '-m', 'base']);
  return dir;
}

/** The patch git makes from base to `next`, leaving the work tree at base again. */
function diffTo(dir: string, next: Record<string, string | null>): string {
  for (const [f, text] of Object.entries(next)) {
    if (text === null) fs.rmSync(path.join(dir, f), { force: true });
    else fs.writeFileSync(path.join(dir, f), text);
  }
  git(dir, ['add', '-A']);
  const patch = git(dir, ['diff', '--cached', '--no-color', '--no-ext-diff', 'HEAD']);
  git(dir, ['reset', '-q', '--hard', 'HEAD']);
  git(dir, ['clean', '-fdq']);
  return patch;
}

function apply(dir: string, patch: string): void {
  if (patch !== '') git(dir, ['apply', '--whitespace=nowarn'], patch);
}

function read(dir: string, f: string): string | null {
  const p = path.join(dir, f);
  return fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : null;
}

type Edit = { at: number; remove: number; add: string[] };

/** Base lines with the given edits applied (edits far apart, in order). */
function withEdits(base: string[], edits: Edit[]): string[] {
  const out: string[] = [];
  let i = 0;
  for (const e of edits) {
    out.push(...base.slice(i, e.at), ...e.add);
    i = e.at + e.remove;
  }
  return [...out, ...base.slice(i)];
}

const text = (lines: string[]) => (lines.length === 0 ? '' : `${lines.join('\n')}\n`);

describe('splitByHunks', () => {
  it('lands exactly the chosen hunks, for random hunk subsets of random edits (fixed seeds)', () => {
    for (const seed of testSeeds([1, 2, 3, 4, 5, 6, 7, 8])) {
      const rnd = prng(seed);
      const n = 30 + Math.floor(rnd() * 60);
      const base = Array.from({ length: n }, (_, i) => `line ${i + 1} of seed ${seed}`);
      // Edits at least 8 lines apart, so git's 3 lines of context make one hunk per edit.
      const edits: Edit[] = [];
      for (let at = Math.floor(rnd() * 4); at < n; at += 8 + Math.floor(rnd() * 10)) {
        const remove = Math.min(Math.floor(rnd() * 3), n - at);
        const add = Array.from({ length: remove === 0 ? 1 + Math.floor(rnd() * 3) : Math.floor(rnd() * 4) }, (_, k) => `new ${at}.${k} (${seed})`);
        edits.push({ at, remove, add });
        at += remove;
      }
      const dir = repoWith({ 'f.txt': text(base), 'keep.txt': 'x\n' });
      const patch = diffTo(dir, { 'f.txt': text(withEdits(base, edits)) });
      const units = hunkUnits(patch);
      assert.equal(units.length, edits.length, `seed ${seed}: one hunk per edit`);
      for (let trial = 0; trial < 6; trial++) {
        const chosen = edits.map(() => rnd() < 0.5);
        const keep: HunkRef[] = units.filter((_, i) => chosen[i]).map((u) => ({ path: u.path, index: u.index }));
        const { kept, rest } = splitByHunks(patch, keep);
        apply(dir, kept);
        assert.equal(read(dir, 'f.txt'), text(withEdits(base, edits.filter((_, i) => chosen[i]))), `seed ${seed} trial ${trial}: the kept hunks alone`);
        apply(dir, rest);
        assert.equal(read(dir, 'f.txt'), text(withEdits(base, edits)), `seed ${seed} trial ${trial}: kept then the rest gives the whole change`);
        git(dir, ['checkout', '-q', '--', '.']);
      }
    }
  });

  it('treats an added, a deleted and a renamed file as one unit each', () => {
    const dir = repoWith({ 'old.txt': 'a\nb\n', 'gone.txt': 'bye\n', 'm.txt': 'one\n' });
    const patch = diffTo(dir, { 'new.txt': 'hello\nworld\n', 'gone.txt': null, 'm.txt': 'two\n', 'old.txt': null, 'renamed.txt': 'a\nb\n' });
    const units = hunkUnits(patch);
    assert.deepEqual(units.map((u) => [u.path, u.index, u.wholeFile]).sort(), [
      ['gone.txt', 0, true], ['m.txt', 0, false], ['new.txt', 0, true], ['renamed.txt', 0, true],
    ]);
    const { kept, rest } = splitByHunks(patch, [{ path: 'new.txt', index: 0 }, { path: 'renamed.txt', index: 0 }]);
    apply(dir, kept);
    assert.equal(read(dir, 'new.txt'), 'hello\nworld\n');
    assert.equal(read(dir, 'renamed.txt'), 'a\nb\n');
    assert.equal(read(dir, 'old.txt'), null);
    assert.equal(read(dir, 'gone.txt'), 'bye\n', 'the deletion was not chosen');
    assert.equal(read(dir, 'm.txt'), 'one\n');
    apply(dir, rest);
    assert.equal(read(dir, 'gone.txt'), null);
    assert.equal(read(dir, 'm.txt'), 'two\n');
  });

  it('keeps a hunk that ends without a newline at the end of the file', () => {
    const dir = repoWith({ 'f.txt': Array.from({ length: 20 }, (_, i) => `l${i}`).join('\n') });
    const next = Array.from({ length: 20 }, (_, i) => (i === 1 ? 'first' : i === 19 ? 'last' : `l${i}`)).join('\n');
    const patch = diffTo(dir, { 'f.txt': next });
    assert.equal(hunkUnits(patch).length, 2);
    apply(dir, splitByHunks(patch, [{ path: 'f.txt', index: 1 }]).kept);
    assert.equal(read(dir, 'f.txt'), Array.from({ length: 20 }, (_, i) => (i === 19 ? 'last' : `l${i}`)).join('\n'));
  });

  it('refuses a hunk the patch does not have', () => {
    const dir = repoWith({ 'f.txt': 'a\n' });
    const patch = diffTo(dir, { 'f.txt': 'b\n' });
    assert.throws(() => splitByHunks(patch, [{ path: 'f.txt', index: 1 }]), (e) => EngineError.is(e, 'usage/unknown-hunk'));
    assert.throws(() => splitByHunks(patch, [{ path: 'other.txt', index: 0 }]), (e) => EngineError.is(e, 'usage/unknown-hunk'));
  });
});
