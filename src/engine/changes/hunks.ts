import { EngineError } from '../errors';
import { parsePatchSections, type FilePatch, type Hunk } from './patch';

/**
 * Cutting a patch by hunks, for partial acceptance (inline review).
 *
 * A unit of review is one hunk of a modified text file. Everything else (an added or deleted
 * file, a rename, a mode change, a binary file) is one unit, index 0: half a new file or half
 * a rename is not something a reviewer asked for.
 */

/** One reviewable unit of a patch, in patch order. */
export interface HunkUnit {
  /** The file's path after the change (its old path when deleted). */
  path: string;
  /** 0-based among the units of this file. */
  index: number;
  /** The hunk, or undefined for a whole-file unit without text hunks (binary, pure rename, mode). */
  hunk?: Hunk;
  /** True when the unit stands for the whole file (see above). */
  wholeFile: boolean;
}

export interface HunkRef {
  path: string;
  index: number;
}

function pathOf(f: FilePatch): string {
  return (f.newPath ?? f.oldPath)!;
}

function byHunk(f: FilePatch): boolean {
  return f.status === 'modify' && !f.isBinary && f.hunks.length > 0;
}

/** The units of a patch in order. Throws what `parsePatch` throws. */
export function hunkUnits(patchText: string): HunkUnit[] {
  return parsePatchSections(patchText).flatMap(({ file }): HunkUnit[] =>
    byHunk(file)
      ? file.hunks.map((hunk, index) => ({ path: pathOf(file), index, hunk, wholeFile: false }))
      : [{ path: pathOf(file), index: 0, hunk: file.hunks[0], wholeFile: true }],
  );
}

function header(h: Hunk, oldStart: number, newStart: number): string {
  const tail = h.header.replace(/^@@ [^@]*@@/, '');
  const range = (start: number, n: number) => (n === 1 ? `${start}` : `${start},${n}`);
  return `@@ -${range(oldStart, h.oldLines)} +${range(newStart, h.newLines)} @@${tail}`;
}

/** Where a hunk's new side starts once the hunks before it shifted its old side by `delta`. */
function shiftedNewStart(h: Hunk, delta: number): number {
  // A zero-length side names the line before it ("-3,0": insert after line 3).
  const oldFirst = h.oldLines === 0 ? h.oldStart + 1 : h.oldStart;
  const newFirst = oldFirst + delta;
  return h.newLines === 0 ? newFirst - 1 : newFirst;
}

/**
 * Splits a patch into the units to keep and the rest.
 *
 * Guarantees: `kept` applies to the base (with `git apply`); `rest` applies on top of the base
 * with `kept` applied, and the two together give what the whole patch gives. Either is '' when
 * it holds no unit. Header lines of a section (names, modes, index) are copied as they are.
 *
 * Throws `usage/unknown-hunk` when `keep` names a unit the patch does not have, and what
 * `parsePatch` throws.
 */
export function splitByHunks(patchText: string, keep: readonly HunkRef[]): { kept: string; rest: string } {
  const wanted = new Set(keep.map((k) => `${k.index}\0${k.path}`));
  const known = new Set(hunkUnits(patchText).map((u) => `${u.index}\0${u.path}`));
  for (const k of keep) {
    if (!known.has(`${k.index}\0${k.path}`)) throw new EngineError('usage/unknown-hunk', `the change has no hunk ${k.index + 1} in ${k.path}`);
  }
  const lines = patchText.split('\n');
  let kept = '';
  let rest = '';
  for (const s of parsePatchSections(patchText)) {
    const f = s.file;
    const path = pathOf(f);
    if (!byHunk(f)) {
      // Trailing blank lines of the last section carry nothing; keep the section itself whole.
      let end = s.endLine;
      while (end > s.startLine && lines[end - 1] === '' && f.hunks.length === 0) end--;
      const text = `${lines.slice(s.startLine, end).join('\n')}\n`;
      if (wanted.has(`0\0${path}`)) kept += text;
      else rest += text;
      continue;
    }
    const headerEnd = lines.indexOf(f.hunks[0]!.header, s.startLine);
    const head = `${lines.slice(s.startLine, headerEnd).join('\n')}\n`;
    let keptBody = '';
    let restBody = '';
    // Lines added minus lines removed by the kept hunks so far.
    let keptDelta = 0;
    f.hunks.forEach((h, index) => {
      const body = h.lines.map((l) => `${l}\n`).join('');
      if (wanted.has(`${index}\0${path}`)) {
        keptBody += `${header(h, h.oldStart, shiftedNewStart(h, keptDelta))}\n${body}`;
        keptDelta += h.newLines - h.oldLines;
      } else {
        // On top of the kept hunks the old side moved by what they added; the new side is final.
        restBody += `${header(h, h.oldStart + keptDelta, h.newStart)}\n${body}`;
      }
    });
    if (keptBody !== '') kept += head + keptBody;
    if (restBody !== '') rest += head + restBody;
  }
  return { kept, rest };
}
