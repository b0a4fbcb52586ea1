import { EngineError, isEngineError } from '../errors';
import { parsePatch } from './patch';
import { fileLineName, gitHeaderNames, quoteCPath, stripPrefix } from './paths';

/**
 * Safe repairs for model-written diffs. Each rule fixes one kind of damage whose fix is
 * unambiguous; the names of the rules applied are returned so the UI and the audit log
 * can say what was changed. When a fix would need a guess (a hunk whose length cannot be
 * recounted one way only, content lines without their prefix), nothing is guessed:
 * `patch/unrepairable` is thrown instead.
 *
 * Rules, in the order they run:
 * - `crlf-to-lf`: the diff's own header lines end in CR, so the whole text was converted.
 * - `strip-markdown-fence`: the diff sits in ``` or ~~~ fences; the fenced diff is kept.
 * - `strip-prose`: text before, between or after file sections that is not part of them.
 * - `strip-blank-lines`: blank lines outside hunks.
 * - `blank-context-line-missing-space`: an empty line inside a hunk becomes " ".
 * - `recount-hunk-lengths`: a hunk header's line counts disagree with its body.
 * - `add-ab-prefixes`: `--- x`/`+++ x` without the `a/`/`b/` that `git apply` strips.
 * - `add-file-header-lines`: a `diff --git` section goes straight to `@@` without `---`/`+++`.
 * - `add-diff-git-header`: a plain `---`/`+++` section gets a `diff --git` line.
 * - `add-new-file-mode` / `add-deleted-file-mode`: a git section with `/dev/null` lacks the mode line.
 * - `drop-bad-index-line`: an `index` line that is not `index <hex>..<hex> [mode]`.
 * - `add-missing-final-newline`: the last line had no newline.
 */

export interface RepairResult {
  patch: string;
  repairs: string[];
}

const HUNK_RE = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$/;
const EXT_HEADER_RE =
  /^(old mode |new mode |deleted file mode |new file mode |rename from |rename to |rename old |rename new |copy from |copy to |similarity index |dissimilarity index |index )/;
const INDEX_RE = /^index [0-9a-fA-F]+\.\.[0-9a-fA-F]+(?: [0-7]{6})?$/;
const FENCE_RE = /^ {0,3}(```|~~~)/;
const BODY_RE = /^[ +\-\\]/;
const BINARY_BLOCK_RE = /^(literal|delta) \d+$/;

interface Section {
  /** `diff --git` line and extended header lines; null for a plain unified diff. */
  git: string[] | null;
  minus: string | null;
  plus: string | null;
  body: string[];
  hasHunk: boolean;
}

class Repairs {
  readonly applied: string[] = [];
  add(rule: string): void {
    if (!this.applied.includes(rule)) this.applied.push(rule);
  }
}

function unrepairable(sentence: string, cause?: unknown): never {
  throw new EngineError('patch/unrepairable', sentence, cause === undefined ? undefined : { cause });
}

/**
 * Repairs what can be repaired safely and returns the patch with the rules applied. The
 * result always parses with `parsePatch`. A repair is a guess about what the author meant,
 * and it rewrites valid patches too (a context line " ```" looks like a fence): call it only
 * for a patch that git does not apply as given, through `resolvePatch` (resolve.ts). Throws `patch/empty` when no diff is left and
 * `patch/unrepairable` when a fix would need a guess or the result still does not parse.
 */
export function repairPatch(text: string): RepairResult {
  const repairs = new Repairs();
  let t = text;
  if (t.trim() === '') throw new EngineError('patch/empty', 'The patch is empty.');
  t = fixCrlf(t, repairs);
  t = stripFences(t, repairs);
  const hadFinalNewline = t.endsWith('\n');
  const lines = t.split('\n');
  if (hadFinalNewline) lines.pop();
  const { sections, lastKept } = walk(lines, repairs);
  if (!hadFinalNewline && lastKept === lines.length - 1) repairs.add('add-missing-final-newline');
  if (sections.length === 0) throw new EngineError('patch/empty', 'The text contains no diff.');
  const out = sections.map((s) => render(s, repairs).join('\n') + '\n').join('');
  try {
    parsePatch(out);
  } catch (e) {
    if (isEngineError(e, 'patch/')) unrepairable(`The patch is still malformed after repair: ${e.message}`, e);
    throw e;
  }
  return { patch: out, repairs: repairs.applied };
}

function fixCrlf(t: string, repairs: Repairs): string {
  const headerWithCr = /^(diff --git |--- |\+\+\+ |@@ )[^\n]*\r$/m;
  if (!headerWithCr.test(t)) return t;
  repairs.add('crlf-to-lf');
  return t.replace(/\r\n/g, '\n');
}

/** Keeps the fenced blocks that contain a diff (or drops bare fence lines when none do). */
function stripFences(t: string, repairs: Repairs): string {
  const lines = t.split('\n');
  if (!lines.some((l) => FENCE_RE.test(l))) return t;
  const blocks: string[][] = [];
  const outside: string[] = [];
  let cur: string[] | null = null;
  for (const l of lines) {
    if (FENCE_RE.test(l)) {
      if (cur) {
        blocks.push(cur);
        cur = null;
      } else cur = [];
    } else if (cur) cur.push(l);
    else outside.push(l);
  }
  if (cur) blocks.push(cur); // an unterminated fence runs to the end
  const isDiff = (b: string[]): boolean => b.some((l) => l.startsWith('diff --git ') || l.startsWith('--- ') || l.startsWith('@@ '));
  const diffs = blocks.filter(isDiff);
  repairs.add('strip-markdown-fence');
  if (diffs.length === 0) return lines.filter((l) => !FENCE_RE.test(l)).join('\n');
  const dropped = [...outside, ...blocks.filter((b) => !isDiff(b)).flat()];
  if (dropped.some((l) => l.trim() !== '')) repairs.add('strip-prose');
  return diffs.map((b) => b.join('\n') + '\n').join('');
}

function isFilePair(lines: string[], i: number): boolean {
  return lines[i]!.startsWith('--- ') && lines[i + 1]?.startsWith('+++ ') === true;
}

/** Splits the text into file sections, fixing hunks on the way. */
function walk(lines: string[], repairs: Repairs): { sections: Section[]; lastKept: number } {
  const sections: Section[] = [];
  let cur: Section | null = null;
  let lastKept = -1;
  // A dropped line that looked like hunk content is only harmless when nothing follows it.
  let droppedBodyLike = -1;
  const startOfSomething = (i: number): void => {
    if (droppedBodyLike >= 0) {
      unrepairable(`Line ${droppedBodyLike + 1} looks like hunk content but lies outside every hunk, and more of the diff follows; cannot tell where it belongs.`);
    }
  };
  let i = 0;
  while (i < lines.length) {
    const l = lines[i]!;
    if (l.startsWith('diff --git ')) {
      startOfSomething(i);
      cur = { git: [l], minus: null, plus: null, body: [], hasHunk: false };
      sections.push(cur);
      i++;
      for (; i < lines.length && EXT_HEADER_RE.test(lines[i]!); i++) {
        // Models invent index lines ("index abc..xyz"); git only needs them for binary or 3-way.
        if (lines[i]!.startsWith('index ') && !INDEX_RE.test(lines[i]!)) repairs.add('drop-bad-index-line');
        else cur.git!.push(lines[i]!);
      }
      if (i < lines.length && isFilePair(lines, i)) {
        cur.minus = lines[i]!;
        cur.plus = lines[i + 1]!;
        i += 2;
      } else if (lines[i]?.startsWith('Binary files ')) cur.body.push(lines[i++]!);
      else if (lines[i] === 'GIT binary patch') i = copyBinary(lines, i, cur.body);
      lastKept = i - 1;
      continue;
    }
    if (isFilePair(lines, i)) {
      startOfSomething(i);
      cur = { git: null, minus: l, plus: lines[i + 1]!, body: [], hasHunk: false };
      sections.push(cur);
      i += 2;
      lastKept = i - 1;
      continue;
    }
    if (l.startsWith('@@') && cur && cur.minus === null && cur.git !== null && !cur.hasHunk && cur.body.length === 0) {
      addFileLines(cur, i);
      repairs.add('add-file-header-lines');
    }
    if (l.startsWith('@@') && cur && cur.minus !== null) {
      startOfSomething(i);
      const end = fixHunk(lines, i, cur.body, repairs);
      cur.hasHunk = true;
      lastKept = end - 1;
      i = end;
      continue;
    }
    if (l.trim() === '') repairs.add('strip-blank-lines');
    else {
      repairs.add('strip-prose');
      if (cur?.hasHunk && /^[ +-]/.test(l) && droppedBodyLike < 0) droppedBodyLike = i;
    }
    i++;
  }
  return { sections, lastKept };
}

/** A git section that goes straight to its hunks gets the `---`/`+++` lines its header implies. */
function addFileLines(s: Section, i: number): void {
  const names = gitHeaderNames(s.git![0]!.slice('diff --git '.length));
  if (!names) unrepairable(`Line ${i + 1}: the hunk has no "---"/"+++" lines and the "diff --git" line does not name the file unambiguously.`);
  const created = s.git!.some((l) => l.startsWith('new file mode '));
  const deleted = s.git!.some((l) => l.startsWith('deleted file mode '));
  s.minus = `--- ${created ? '/dev/null' : quoteCPath(names.a)}`;
  s.plus = `+++ ${deleted ? '/dev/null' : quoteCPath(names.b)}`;
}

function copyBinary(lines: string[], i: number, out: string[]): number {
  out.push(lines[i++]!);
  for (let block = 0; block < 2 && i < lines.length && BINARY_BLOCK_RE.test(lines[i]!); block++) {
    while (i < lines.length && lines[i] !== '') out.push(lines[i++]!);
    if (i < lines.length) out.push(lines[i++]!);
  }
  return i;
}

/** Appends the (fixed) hunk at `start` to `out`; returns the index after it. */
function fixHunk(lines: string[], start: number, out: string[], repairs: Repairs): number {
  const header = lines[start]!;
  const m = HUNK_RE.exec(header);
  if (!m) unrepairable(`Line ${start + 1}: the hunk header ${JSON.stringify(header.slice(0, 60))} has no line numbers, so the hunk cannot be placed.`);
  const declaredOld = m[2] === undefined ? 1 : Number(m[2]);
  const declaredNew = m[4] === undefined ? 1 : Number(m[4]);
  const declaredEnd = walkDeclared(lines, start + 1, declaredOld, declaredNew);
  let body: string[];
  if (declaredEnd >= 0 && cleanBoundary(lines, declaredEnd)) body = lines.slice(start + 1, declaredEnd);
  else {
    // A creation or deletion hunk has no context, so blank lines after it cannot be context.
    const noContext = (m[1] === '0' && declaredOld === 0) || (m[3] === '0' && declaredNew === 0);
    body = recount(lines, start, declaredOld, declaredNew, noContext);
  }
  if (body.length === 0 || body[0]!.startsWith('\\')) unrepairable(`Line ${start + 1}: the hunk has no content lines.`);
  const fixed = body.map((l) => {
    if (l !== '') return l;
    repairs.add('blank-context-line-missing-space');
    return ' ';
  });
  let oldN = 0;
  let newN = 0;
  for (const l of fixed) {
    if (l[0] === ' ') (oldN++, newN++);
    else if (l[0] === '-') oldN++;
    else if (l[0] === '+') newN++;
  }
  if (oldN === 0 && newN === 0) unrepairable(`Line ${start + 1}: the hunk has no content lines.`);
  let newHeader = header;
  if (oldN !== declaredOld || newN !== declaredNew) {
    repairs.add('recount-hunk-lengths');
    newHeader = `@@ -${m[1]},${oldN} +${m[3]},${newN} @@${m[5]}`;
  }
  // A loop, not push(...fixed): a spread passes every line as an argument and overflows the stack on a long hunk.
  out.push(newHeader);
  for (const l of fixed) out.push(l);
  return start + 1 + body.length;
}

/** The end of the body if the declared counts fit the lines exactly, else -1. */
function walkDeclared(lines: string[], i: number, oldLeft: number, newLeft: number): number {
  let prevContent = false;
  while (oldLeft > 0 || newLeft > 0) {
    if (i >= lines.length) return -1;
    const l = lines[i]!;
    if (l === '' || l[0] === ' ') (oldLeft--, newLeft--);
    else if (l[0] === '-') oldLeft--;
    else if (l[0] === '+') newLeft--;
    else if (l[0] !== '\\' || !prevContent) return -1;
    prevContent = l[0] !== '\\';
    if (oldLeft < 0 || newLeft < 0) return -1;
    i++;
  }
  if (i < lines.length && lines[i]!.startsWith('\\')) i++;
  return i;
}

/** True when what follows a hunk cannot be more of the same hunk. */
function cleanBoundary(lines: string[], i: number): boolean {
  let k = i;
  while (k < lines.length && lines[k] === '') k++;
  if (k >= lines.length) return true;
  const l = lines[k]!;
  return l.startsWith('@@') || l.startsWith('diff --git ') || isFilePair(lines, k) || !BODY_RE.test(l);
}

/**
 * The body of a hunk whose declared counts do not fit: every line up to the next header
 * or prose. Blank lines at its end may be context or separators; the declared counts
 * decide, and when they cannot, the hunk is refused.
 */
function recount(lines: string[], start: number, declaredOld: number, declaredNew: number, noContext: boolean): string[] {
  let j = start + 1;
  while (j < lines.length) {
    const l = lines[j]!;
    if (l.startsWith('@@') || l.startsWith('diff --git ')) break;
    if (isFilePair(lines, j)) {
      if (lines[j + 2]?.startsWith('@@')) break;
      unrepairable(`Line ${j + 1}: inside the hunk at line ${start + 1}, "---" and "+++" lines could be content or the next file's header, and the hunk's counts do not say which.`);
    }
    if (l === '' || BODY_RE.test(l)) j++;
    else break;
  }
  const body = lines.slice(start + 1, j);
  let trailing = 0;
  while (trailing < body.length && body[body.length - 1 - trailing] === '') trailing++;
  const core = body.slice(0, body.length - trailing);
  if (trailing === 0 || noContext) return core;
  let oldN = 0;
  let newN = 0;
  for (const l of core) {
    if (l === '' || l[0] === ' ') (oldN++, newN++);
    else if (l[0] === '-') oldN++;
    else if (l[0] === '+') newN++;
  }
  const fits: number[] = [];
  for (let k = 0; k <= trailing; k++) if (oldN + k === declaredOld || newN + k === declaredNew) fits.push(k);
  if (fits.length !== 1) {
    unrepairable(
      `Line ${start + 1}: the hunk's counts are wrong and it ends with ${trailing} blank line(s) that could be blank context or separators; refusing to guess.`,
    );
  }
  return body.slice(0, core.length + fits[0]!);
}

/** The section's header lines (prefixes and git header fixed), then its body. */
function render(s: Section, repairs: Repairs): string[] {
  if (s.minus === null || s.plus === null) {
    if (s.git === null) return s.body;
    return [...s.git, ...s.body];
  }
  let oldName = fileLineName(s.minus.slice(4));
  let newName = fileLineName(s.plus.slice(4));
  if (oldName === undefined || newName === undefined) return [...(s.git ?? []), s.minus, s.plus, ...s.body];
  let minus = s.minus;
  let plus = s.plus;
  const fixed = addPrefixes(oldName, newName);
  if (fixed) {
    repairs.add('add-ab-prefixes');
    ({ oldName, newName } = fixed);
    minus = `--- ${oldName === null ? '/dev/null' : quoteCPath(oldName)}`;
    plus = `+++ ${newName === null ? '/dev/null' : quoteCPath(newName)}`;
  }
  const a = oldName === null ? null : stripPrefix(oldName);
  const b = newName === null ? null : stripPrefix(newName);
  let git = s.git;
  const headerLine = (): string => `diff --git ${quoteCPath(`a/${a ?? b}`)} ${quoteCPath(`b/${b ?? a}`)}`;
  if (git === null) {
    if (a !== null && b !== null && a !== b) return [minus, plus, ...s.body]; // parsePatch will refuse it, clearly
    if (a === null && b === null) return [minus, plus, ...s.body];
    repairs.add('add-diff-git-header');
    git = [headerLine()];
    if (oldName === null) git.push('new file mode 100644');
    if (newName === null) git.push('deleted file mode 100644');
  } else {
    git = [...git];
    const names = gitHeaderNames(git[0]!.slice('diff --git '.length));
    const unprefixed = names === null || !names.a.startsWith('a/') || !names.b.startsWith('b/');
    if (unprefixed && (a ?? b) !== null && headerLine() !== git[0]) {
      repairs.add('add-ab-prefixes');
      git[0] = headerLine();
    }
    if (oldName === null && !git.some((l) => l.startsWith('new file mode '))) {
      repairs.add('add-new-file-mode');
      git.splice(1, 0, 'new file mode 100644');
    }
    if (newName === null && !git.some((l) => l.startsWith('deleted file mode '))) {
      repairs.add('add-deleted-file-mode');
      git.splice(1, 0, 'deleted file mode 100644');
    }
  }
  return [...git, minus, plus, ...s.body];
}

/**
 * `a/` and `b/` for names that plainly lack them: both sides share their first
 * component (`src/x` and `src/x`), or one side is /dev/null, or one side has its prefix
 * and the other is the same path without it. Different first components (`orig/x`,
 * `new/x`) are someone's own prefixes, which `-p1` strips correctly: left alone.
 */
function addPrefixes(oldName: string | null, newName: string | null): { oldName: string | null; newName: string | null } | null {
  const hasA = oldName === null || oldName.startsWith('a/');
  const hasB = newName === null || newName.startsWith('b/');
  if (hasA && hasB) return null;
  if (oldName === null || newName === null) {
    return { oldName: oldName === null ? null : hasA ? oldName : `a/${oldName}`, newName: newName === null ? null : hasB ? newName : `b/${newName}` };
  }
  if (hasA && !hasB) return newName === oldName.slice(2) ? { oldName, newName: `b/${newName}` } : null;
  if (!hasA && hasB) return oldName === newName.slice(2) ? { oldName: `a/${oldName}`, newName } : null;
  const first = (n: string): string => n.split('/')[0]!;
  if (first(oldName) !== first(newName) && oldName.includes('/') && newName.includes('/')) return null;
  return { oldName: `a/${oldName}`, newName: `b/${newName}` };
}
