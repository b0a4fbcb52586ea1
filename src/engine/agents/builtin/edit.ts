/**
 * The text replacement behind `edit_file`: exact first, then a whitespace-tolerant match;
 * when neither finds exactly one place, an error the model can act on (how many places, or
 * the closest candidates with their line numbers).
 */

export type EditOutcome =
  | { ok: true; text: string; replaced: number; lines: number[]; tolerant: boolean }
  | { ok: false; error: string };

const MAX_CANDIDATES = 3;
const MAX_CANDIDATE_LINES = 12;

function lineOf(text: string, index: number): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function allIndexes(text: string, needle: string): number[] {
  const out: number[] = [];
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) out.push(i);
  return out;
}

/** A line as the tolerant match compares it: no indentation or trailing blanks, inner runs of blanks as one. */
const norm = (l: string) => l.trim().replace(/\s+/g, ' ');

/** Lines of `s` without the blank lines at either end (models often add or drop those). */
function coreLines(s: string): string[] {
  const lines = s.split('\n');
  while (lines.length > 0 && lines[0]!.trim() === '') lines.shift();
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  return lines;
}

/** Replaces `oldString` with `newString` in `text` as `edit_file` does. */
export function applyEdit(text: string, oldString: string, newString: string, replaceAll: boolean): EditOutcome {
  if (oldString === '') return { ok: false, error: 'old_string is empty; use write_file to create a file, or give the text to replace' };
  if (oldString === newString) return { ok: false, error: 'old_string and new_string are the same; nothing would change' };
  const at = allIndexes(text, oldString);
  if (at.length === 1 || (at.length > 1 && replaceAll)) {
    const lines = at.map((i) => lineOf(text, i));
    return { ok: true, text: text.split(oldString).join(newString), replaced: at.length, lines, tolerant: false };
  }
  if (at.length > 1) {
    const lines = at.map((i) => lineOf(text, i));
    return { ok: false, error: `old_string matches ${at.length} places (lines ${lines.slice(0, 10).join(', ')}${lines.length > 10 ? ', …' : ''}); include more surrounding lines so it matches one place, or set replace_all` };
  }
  return tolerantEdit(text, oldString, newString, replaceAll);
}

function tolerantEdit(text: string, oldString: string, newString: string, replaceAll: boolean): EditOutcome {
  const fileLines = text.split('\n');
  const want = coreLines(oldString);
  if (want.length === 0) return { ok: false, error: 'old_string has only blank lines; give the text to replace' };
  const wantNorm = want.map(norm);
  const starts: number[] = [];
  for (let i = 0; i + want.length <= fileLines.length; i++) {
    let all = true;
    for (let j = 0; j < want.length && all; j++) all = norm(fileLines[i + j]!) === wantNorm[j];
    if (all) starts.push(i);
  }
  if (starts.length === 1 || (starts.length > 1 && replaceAll)) {
    let out = fileLines;
    // From the last match back, so earlier line numbers stay valid.
    for (const s of [...starts].reverse()) {
      const replacement = reindent(coreLines(newString), want[0]!, fileLines[s]!);
      out = [...out.slice(0, s), ...replacement, ...out.slice(s + want.length)];
    }
    return { ok: true, text: out.join('\n'), replaced: starts.length, lines: starts.map((s) => s + 1), tolerant: true };
  }
  if (starts.length > 1) {
    return { ok: false, error: `old_string matches no place exactly, and ${starts.length} places when whitespace is ignored (lines ${starts.slice(0, 10).map((s) => s + 1).join(', ')}); include more surrounding lines, or set replace_all` };
  }
  return { ok: false, error: `old_string matches no place, not even ignoring whitespace.${closest(fileLines, want)} Copy the text exactly as the file has it (read_file shows line numbers; leave them out).` };
}

/**
 * The new lines with the indentation the file really has: when the model's old text was
 * indented differently from the file, its new text is shifted by the same difference.
 */
function reindent(lines: string[], wantFirst: string, fileFirst: string): string[] {
  const indent = (l: string) => /^[ \t]*/.exec(l)![0];
  const from = indent(wantFirst);
  const to = indent(fileFirst);
  if (from === to) return lines;
  return lines.map((l) => (l.startsWith(from) ? to + l.slice(from.length) : l.trim() === '' ? l : to + l.trimStart()));
}

/** Similarity of two short strings: the Dice coefficient of their character bigrams. */
function dice(a: string, b: string): number {
  if (a === b) return 1;
  if (a.length < 2 || b.length < 2) return 0;
  const grams = new Map<string, number>();
  for (let i = 0; i < a.length - 1; i++) {
    const g = a.slice(i, i + 2);
    grams.set(g, (grams.get(g) ?? 0) + 1);
  }
  let common = 0;
  for (let i = 0; i < b.length - 1; i++) {
    const g = b.slice(i, i + 2);
    const n = grams.get(g) ?? 0;
    if (n > 0) {
      grams.set(g, n - 1);
      common++;
    }
  }
  return (2 * common) / (a.length + b.length - 2);
}

/** The places of the file most like the wanted lines, as text for the model. */
function closest(fileLines: string[], want: string[]): string {
  const wantNorm = want.map(norm);
  const span = Math.min(want.length, fileLines.length);
  const scored: Array<{ start: number; score: number }> = [];
  const lineScore = fileLines.map(norm);
  for (let i = 0; i + span <= fileLines.length; i++) {
    let score = 0;
    // Long files: compare first lines only before spending time on the whole window.
    const first = dice(lineScore[i]!.slice(0, 200), wantNorm[0]!.slice(0, 200));
    if (first < 0.3 && want.length > 1 && fileLines.length > 2000) continue;
    for (let j = 0; j < span; j++) score += j === 0 ? first : dice(lineScore[i + j]!.slice(0, 200), wantNorm[j]!.slice(0, 200));
    scored.push({ start: i, score: score / span });
  }
  scored.sort((a, b) => b.score - a.score || a.start - b.start);
  const picked: Array<{ start: number; score: number }> = [];
  for (const s of scored) {
    if (picked.length >= MAX_CANDIDATES || s.score < 0.35) break;
    if (picked.some((p) => Math.abs(p.start - s.start) < span)) continue;
    picked.push(s);
  }
  if (picked.length === 0) return ' No similar text was found in the file.';
  const shown = Math.min(span, MAX_CANDIDATE_LINES);
  const blocks = picked.map((p) => {
    const body = fileLines.slice(p.start, p.start + shown).map((l, k) => `${p.start + k + 1}\t${l}`).join('\n');
    return `lines ${p.start + 1}-${p.start + shown} (${Math.round(p.score * 100)}% alike):\n${body}`;
  });
  return ` The closest places:\n${blocks.join('\n')}\n`;
}
