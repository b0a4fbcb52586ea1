import { EngineError } from '../errors';
import { fileLineName, gitHeaderNames, headerLinePath, stripPrefix } from './paths';

/**
 * A strict parser for `git diff` output and plain unified diffs.
 *
 * Strict on purpose: the policy checks read what this parser sees, and `git apply` later
 * applies the same text. Anything git might read differently (garbage between sections,
 * hunks longer than their header, names that disagree between header lines) is rejected
 * here rather than interpreted, so the two readings can never diverge. Model-written
 * patches go through `repairPatch` first.
 */

export interface Hunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  /** The whole `@@ … @@ …` line. */
  header: string;
  /** Body lines with their leading ' ', '+', '-' or '\' (a bare '' is blank context). */
  lines: string[];
}

export type FileStatus = 'add' | 'modify' | 'delete' | 'rename' | 'copy';

export interface FilePatch {
  /** Repository-relative; null for an added file. */
  oldPath: string | null;
  /** Repository-relative; null for a deleted file. */
  newPath: string | null;
  status: FileStatus;
  oldMode?: string;
  newMode?: string;
  isBinary: boolean;
  isSymlink: boolean;
  isGitlink: boolean;
  hunks: Hunk[];
}

export interface ParsedPatch {
  files: FilePatch[];
}

/** One file's section of a patch, with its 0-based line range (end exclusive). */
export interface PatchSection {
  file: FilePatch;
  startLine: number;
  endLine: number;
}

const HUNK_RE = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$/;
const MODE_RE = /^(old mode|new mode|deleted file mode|new file mode) ([0-7]{6})$/;
const INDEX_RE = /^index [0-9a-fA-F]+\.\.[0-9a-fA-F]+(?: ([0-7]{6}))?$/;
const SCORE_RE = /^(similarity|dissimilarity) index \d{1,3}%$/;
const BINARY_BLOCK_RE = /^(literal|delta) \d+$/;
const BASE85_LINE_RE = /^[A-Za-z][0-9A-Za-z!#$%&()*+;<=>?@^_`{|}~-]+$/;
const MAX_COUNT = 100_000_000;

function preview(line: string): string {
  return JSON.stringify(line.length > 60 ? `${line.slice(0, 60)}…` : line);
}

function fail(lineIndex: number, sentence: string): never {
  throw new EngineError('patch/malformed', `Malformed patch at line ${lineIndex + 1}: ${sentence}.`, {
    details: { line: lineIndex + 1 },
  });
}

/**
 * Parses a patch. Throws `patch/empty` for blank input and `patch/malformed` (with the
 * 1-based line number in the message and in `details.line`) for anything else it cannot
 * read exactly. Never throws anything else.
 */
export function parsePatch(text: string): ParsedPatch {
  return { files: parsePatchSections(text).map((s) => s.file) };
}

/** Like `parsePatch`, keeping each file's line range so sections can be cut out. */
export function parsePatchSections(text: string): PatchSection[] {
  if (text.trim() === '') throw new EngineError('patch/empty', 'The patch is empty.');
  const lines = text.split('\n');
  if (lines[lines.length - 1] !== '') fail(lines.length - 1, 'the last line does not end with a newline');
  lines.pop();
  // Blank lines after the last section carry nothing. They are not cut before parsing: git
  // reads an empty line inside a hunk as blank context, so the last hunk may need some of them.
  let blankTail = lines.length;
  while (blankTail > 0 && lines[blankTail - 1] === '') blankTail--;
  const end = lines.length;
  const sections: PatchSection[] = [];
  let i = 0;
  while (i < blankTail) {
    const line = lines[i]!;
    let next: { file: FilePatch; end: number };
    if (line.startsWith('diff --git ')) next = parseGitSection(lines, i, end);
    else if (line.startsWith('--- ') && lines[i + 1]?.startsWith('+++ ')) next = parsePlainSection(lines, i, end);
    else fail(i, `expected a file header ("diff --git …" or "--- …" then "+++ …") but found ${preview(line)}`);
    sections.push({ file: next.file, startLine: i, endLine: next.end });
    i = next.end;
  }
  // Blank lines after the last hunk belong to nobody but are kept by excludeFiles' caller.
  if (sections.length > 0) sections[sections.length - 1]!.endLine = lines.length;
  return sections;
}

function noCarriageReturn(lines: string[], i: number): void {
  if (lines[i]!.endsWith('\r')) fail(i, 'the header line ends with a carriage return (CRLF line endings; repair the patch first)');
}

function parseGitSection(lines: string[], start: number, end: number): { file: FilePatch; end: number } {
  noCarriageReturn(lines, start);
  const names = gitHeaderNames(lines[start]!.slice('diff --git '.length));
  const headerA = names ? stripPrefix(names.a) : null;
  const headerB = names ? stripPrefix(names.b) : null;
  let i = start + 1;
  let newFile = false;
  let deleted = false;
  let oldMode: string | undefined;
  let newMode: string | undefined;
  let indexMode: string | undefined;
  let renameFrom: string | undefined;
  let renameTo: string | undefined;
  let copyFrom: string | undefined;
  let copyTo: string | undefined;
  const pathOf = (rest: string): string => headerLinePath(rest) ?? fail(i, 'the path is badly quoted');
  for (; i < end; i++) {
    const l = lines[i]!;
    const mode = MODE_RE.exec(l);
    if (mode) {
      const kind = mode[1]!;
      const m = mode[2]!;
      if (kind === 'old mode') oldMode = m;
      else if (kind === 'new mode') newMode = m;
      else if (kind === 'deleted file mode') ((deleted = true), (oldMode = m));
      else ((newFile = true), (newMode = m));
    } else if (l.startsWith('rename from ')) renameFrom = pathOf(l.slice(12));
    else if (l.startsWith('rename to ')) renameTo = pathOf(l.slice(10));
    else if (l.startsWith('rename old ')) renameFrom = pathOf(l.slice(11));
    else if (l.startsWith('rename new ')) renameTo = pathOf(l.slice(11));
    else if (l.startsWith('copy from ')) copyFrom = pathOf(l.slice(10));
    else if (l.startsWith('copy to ')) copyTo = pathOf(l.slice(8));
    else if (SCORE_RE.test(l)) continue;
    else if (l.startsWith('index ')) {
      const m = INDEX_RE.exec(l);
      if (!m) fail(i, `the index line ${preview(l)} is not of the form "index <sha>..<sha> [mode]"`);
      indexMode = m[1];
    } else break;
  }

  let minus: string | null | undefined;
  let plus: string | null | undefined;
  let isBinary = false;
  const hunks: Hunk[] = [];
  const l = lines[i];
  if (i < end && l!.startsWith('--- ')) {
    if (!lines[i + 1]?.startsWith('+++ ') || i + 1 >= end) fail(i, 'a "---" line must be followed by a "+++" line');
    ({ minus, plus } = fileLines(lines, i));
    i += 2;
    i = parseHunks(lines, i, end, hunks);
    if (hunks.length === 0) fail(i, 'expected a hunk ("@@ -a,b +c,d @@") after the "+++" line');
  } else if (i < end && l!.startsWith('Binary files ')) {
    if (!/^Binary files .+ and .+ differ$/.test(l!)) fail(i, `${preview(l!)} is not a "Binary files … differ" line`);
    isBinary = true;
    i++;
  } else if (i < end && l === 'GIT binary patch') {
    isBinary = true;
    i = skipBinaryPatch(lines, i + 1, end);
  } else if (i < end && l!.startsWith('@@')) {
    fail(i, 'a hunk must follow "---" and "+++" lines');
  }

  if (newFile && deleted) fail(start, 'the file is both created and deleted');
  if ((renameFrom !== undefined) !== (renameTo !== undefined)) fail(start, 'a rename needs both "rename from" and "rename to"');
  if ((copyFrom !== undefined) !== (copyTo !== undefined)) fail(start, 'a copy needs both "copy from" and "copy to"');
  if (renameFrom !== undefined && copyFrom !== undefined) fail(start, 'a file cannot be both renamed and copied');
  if ((newFile || deleted) && (renameFrom !== undefined || copyFrom !== undefined)) fail(start, 'a created or deleted file cannot also be renamed or copied');
  if (minus === null && !newFile) fail(start, '"--- /dev/null" needs a "new file mode" line in a git diff');
  if (plus === null && !deleted) fail(start, '"+++ /dev/null" needs a "deleted file mode" line in a git diff');
  if (newFile && minus !== undefined && minus !== null) fail(start, 'a new file must have "--- /dev/null"');
  if (deleted && plus !== undefined && plus !== null) fail(start, 'a deleted file must have "+++ /dev/null"');

  const status: FileStatus = newFile ? 'add' : deleted ? 'delete' : renameFrom !== undefined ? 'rename' : copyFrom !== undefined ? 'copy' : 'modify';
  const pick = (what: string, candidates: Array<string | null | undefined>): string => {
    const known = candidates.filter((c): c is string => typeof c === 'string');
    if (known.length === 0) fail(start, `cannot tell the ${what} file name from the "diff --git" line`);
    if (known.some((k) => k !== known[0])) fail(start, `the ${what} file name is inconsistent (${known.map((k) => JSON.stringify(k)).join(' vs ')})`);
    return known[0]!;
  };
  const oldPath = status === 'add' ? null : pick('old', [renameFrom ?? copyFrom, minus, headerA]);
  const newPath = status === 'delete' ? null : pick('new', [renameTo ?? copyTo, plus, headerB]);
  if ((status === 'modify' || status === 'add' || status === 'delete') && oldPath !== null && newPath !== null && oldPath !== newPath) {
    fail(start, `the old and new names differ (${JSON.stringify(oldPath)} vs ${JSON.stringify(newPath)}) without "rename from"/"rename to"`);
  }
  if (status !== 'add' && oldMode === undefined) oldMode = indexMode;
  if (status !== 'delete' && newMode === undefined) newMode = indexMode;
  const modeChanged = oldMode !== undefined && newMode !== undefined && oldMode !== newMode;
  if (hunks.length === 0 && !isBinary && !modeChanged && status === 'modify') fail(start, 'the file section has no changes');
  const modes = [oldMode, newMode];
  return {
    file: {
      oldPath,
      newPath,
      status,
      ...(oldMode !== undefined ? { oldMode } : {}),
      ...(newMode !== undefined ? { newMode } : {}),
      isBinary,
      isSymlink: modes.includes('120000'),
      isGitlink: modes.includes('160000'),
      hunks,
    },
    end: i,
  };
}

function fileLines(lines: string[], i: number): { minus: string | null; plus: string | null } {
  noCarriageReturn(lines, i);
  noCarriageReturn(lines, i + 1);
  const name = (j: number): string | null => {
    const raw = fileLineName(lines[j]!.slice(4));
    if (raw === undefined) fail(j, 'the file name is badly quoted');
    if (raw === null) return null;
    return stripPrefix(raw) ?? fail(j, `the file name ${preview(raw)} has no directory prefix to strip (expected "a/…" or "b/…")`);
  };
  return { minus: name(i), plus: name(i + 1) };
}

function parsePlainSection(lines: string[], start: number, end: number): { file: FilePatch; end: number } {
  const { minus, plus } = fileLines(lines, start);
  if (minus === null && plus === null) fail(start, 'both file names are /dev/null');
  if (minus !== null && plus !== null && minus !== plus) {
    fail(start, `the old and new names differ (${JSON.stringify(minus)} vs ${JSON.stringify(plus)}); a plain diff cannot rename`);
  }
  const hunks: Hunk[] = [];
  const next = parseHunks(lines, start + 2, end, hunks);
  if (hunks.length === 0) fail(start + 1, 'expected a hunk ("@@ -a,b +c,d @@") after the "+++" line');
  const status: FileStatus = minus === null ? 'add' : plus === null ? 'delete' : 'modify';
  return {
    file: { oldPath: minus, newPath: plus, status, isBinary: false, isSymlink: false, isGitlink: false, hunks },
    end: next,
  };
}

function parseHunks(lines: string[], i: number, end: number, out: Hunk[]): number {
  while (i < end && lines[i]!.startsWith('@@')) {
    const parsed = parseHunk(lines, i, end);
    out.push(parsed.hunk);
    i = parsed.end;
  }
  return i;
}

function parseHunk(lines: string[], start: number, end: number): { hunk: Hunk; end: number } {
  noCarriageReturn(lines, start);
  const header = lines[start]!;
  const m = HUNK_RE.exec(header);
  if (!m) fail(start, `the hunk header ${preview(header)} is not of the form "@@ -a,b +c,d @@"`);
  const num = (s: string | undefined): number => (s === undefined ? 1 : Number(s));
  const hunk: Hunk = { oldStart: num(m[1]), oldLines: num(m[2]), newStart: num(m[3]), newLines: num(m[4]), header, lines: [] };
  if ([hunk.oldStart, hunk.oldLines, hunk.newStart, hunk.newLines].some((n) => n > MAX_COUNT)) fail(start, 'the hunk header has absurdly large numbers');
  if (hunk.oldLines === 0 && hunk.newLines === 0) fail(start, 'the hunk has no lines');
  let oldLeft = hunk.oldLines;
  let newLeft = hunk.newLines;
  let i = start + 1;
  while (oldLeft > 0 || newLeft > 0) {
    if (i >= end) fail(start, `the hunk ends early: its header promises ${oldLeft} more old and ${newLeft} more new line(s)`);
    const l = lines[i]!;
    const c = l[0];
    if (l === '' || c === ' ') (oldLeft--, newLeft--);
    else if (c === '-') oldLeft--;
    else if (c === '+') newLeft--;
    else if (c === '\\') {
      if (hunk.lines.length === 0 || hunk.lines[hunk.lines.length - 1]!.startsWith('\\')) fail(i, '"\\ No newline at end of file" must follow a hunk line');
    } else fail(i, `${preview(l)} is not a hunk line (it must start with " ", "+", "-" or "\\")`);
    if (oldLeft < 0 || newLeft < 0) fail(i, `the hunk is longer than its header ${preview(header)} says`);
    hunk.lines.push(l);
    i++;
  }
  if (i < end && lines[i]!.startsWith('\\')) hunk.lines.push(lines[i++]!);
  return { hunk, end: i };
}

function skipBinaryPatch(lines: string[], i: number, end: number): number {
  for (let block = 0; block < 2; block++) {
    if (block === 1 && !(i < end && BINARY_BLOCK_RE.test(lines[i]!))) break;
    if (i >= end || !BINARY_BLOCK_RE.test(lines[i]!)) fail(i, 'expected "literal <size>" or "delta <size>" in a GIT binary patch');
    i++;
    while (i < end && lines[i] !== '') {
      if (!isBase85Line(lines[i]!)) fail(i, 'the line is not base85 data of a GIT binary patch');
      i++;
    }
    // The blank line that closes a block (a patch cut right after the data may lack it).
    if (i < end) i++;
  }
  return i;
}

/** git's rule: a length character (A-Z = 1..26, a-z = 27..52 bytes), then 5 characters per 4 bytes. */
function isBase85Line(line: string): boolean {
  if (!BASE85_LINE_RE.test(line)) return false;
  const c = line.charCodeAt(0);
  const bytes = c <= 90 ? c - 64 : c - 96 + 26;
  return line.length - 1 === Math.ceil(bytes / 4) * 5;
}

/** Every path the patch touches, old and new, repository-relative, each once in order. */
export function patchFiles(parsed: ParsedPatch): string[] {
  const seen = new Set<string>();
  for (const f of parsed.files) {
    if (f.oldPath !== null) seen.add(f.oldPath);
    if (f.newPath !== null) seen.add(f.newPath);
  }
  return [...seen];
}

/**
 * The patch without the sections that touch any of `paths` (old or new name), byte for
 * byte otherwise. Paths the patch does not touch are ignored. Returns '' when every
 * section is excluded. Throws what `parsePatch` throws.
 */
export function excludeFiles(patchText: string, paths: string[]): string {
  const drop = new Set(paths);
  const lines = patchText.split('\n');
  let out = '';
  for (const s of parsePatchSections(patchText)) {
    const f = s.file;
    if ((f.oldPath !== null && drop.has(f.oldPath)) || (f.newPath !== null && drop.has(f.newPath))) continue;
    out += `${lines.slice(s.startLine, s.endLine).join('\n')}\n`;
  }
  return out;
}
