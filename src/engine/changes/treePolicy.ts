import { EngineError } from '../errors';
import { compileProtection, pathViolations, type PatchPolicyOptions, type PolicyViolation } from './policy';

/**
 * The policy applied to what actually lands: tree entries of the commit the queue is
 * about to publish. This is the backstop behind `checkPatchPolicy`; it reads git's own
 * view of the result, so no quirk of patch parsing can get a forbidden entry past it.
 */

export interface TreeEntry {
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  path: string;
}

export interface DiffTreeRow {
  oldMode: string;
  newMode: string;
  oldSha: string;
  newSha: string;
  /** The status letter: A, C, D, M, R, T, U or X. */
  status: string;
  /** The similarity score of a rename or copy (R100 → 100). */
  score?: number;
  /** The new path (for a deletion, the deleted path). */
  path: string;
  /** Only for renames and copies. */
  oldPath?: string;
}

/**
 * Violations among `entries`, the changed entries of the tree that would land (deleted
 * entries should be passed with mode '000000' or left out; they are checked for their
 * path only). Blobs may be 100644; 100755 only when `baseModes` says the same path was
 * already 100755 in the base. Symlinks (120000) and gitlinks (160000 / type commit)
 * always block.
 */
export function checkTreeEntries(
  entries: ReadonlyArray<TreeEntry>,
  opts: Pick<PatchPolicyOptions, 'protectedPaths' | 'highRiskPaths'> & { baseModes?: ReadonlyMap<string, string> } = {},
): PolicyViolation[] {
  const protection = compileProtection(opts);
  const out: PolicyViolation[] = [];
  for (const e of entries) {
    for (const v of pathViolations(e.path, protection)) out.push(v);
    const shown = JSON.stringify(e.path);
    if (e.mode === '000000' || e.type === 'tree') continue;
    if (e.type === 'commit' || e.mode === '160000') {
      out.push({ rule: 'gitlink', path: e.path, message: `gitlink: the commit adds or changes the submodule entry ${shown}.`, severity: 'block' });
    } else if (e.mode === '120000') {
      out.push({ rule: 'symlink', path: e.path, message: `symlink: the commit adds or changes the symbolic link ${shown}.`, severity: 'block' });
    } else if (e.mode === '100755') {
      if (opts.baseModes?.get(e.path) !== '100755') {
        out.push({ rule: 'exec-mode', path: e.path, message: `exec-mode: the commit makes ${shown} executable (100755); only 100644 is allowed for new or changed modes.`, severity: 'block' });
      }
    } else if (e.mode !== '100644') {
      out.push({ rule: 'exec-mode', path: e.path, message: `exec-mode: the commit gives ${shown} the unexpected mode ${e.mode}.`, severity: 'block' });
    }
  }
  return out;
}

const RAW_HEAD_RE = /^:([0-7]{6}) ([0-7]{6}) ([0-9a-f]{40}|[0-9a-f]{64}) ([0-9a-f]{40}|[0-9a-f]{64}) ([ACDMRTUX])(\d{0,3})$/;

function badOutput(sentence: string): never {
  throw new EngineError('git/bad-output', `Unexpected git diff-tree output: ${sentence}.`);
}

/**
 * Parses `git diff-tree -r -z --raw [--no-renames] …` output. A leading commit id (printed
 * when diff-tree is given a single commit) is skipped. Renames and copies (when
 * `--no-renames` is left off) carry both paths. Throws `git/bad-output` on anything else.
 */
export function parseDiffTreeRaw(zOutput: string): DiffTreeRow[] {
  const fields = zOutput.split('\0');
  if (fields[fields.length - 1] === '') fields.pop();
  let i = 0;
  if (fields[0] !== undefined && /^[0-9a-f]{40}([0-9a-f]{24})?\n?$/.test(fields[0])) i = 1;
  const rows: DiffTreeRow[] = [];
  while (i < fields.length) {
    const head = fields[i]!.replace(/^\n/, '');
    const m = RAW_HEAD_RE.exec(head);
    if (!m) badOutput(`${JSON.stringify(head.slice(0, 80))} is not a raw diff line`);
    const status = m[5]!;
    const twoPaths = status === 'R' || status === 'C';
    const path1 = fields[i + 1];
    if (path1 === undefined || path1 === '') badOutput('a raw diff line has no path');
    const row: DiffTreeRow = { oldMode: m[1]!, newMode: m[2]!, oldSha: m[3]!, newSha: m[4]!, status, path: path1 };
    if (m[6]) row.score = Number(m[6]);
    if (twoPaths) {
      const path2 = fields[i + 2];
      if (path2 === undefined || path2 === '') badOutput('a rename or copy has no new path');
      row.oldPath = path1;
      row.path = path2;
      i += 3;
    } else i += 2;
    rows.push(row);
  }
  return rows;
}

/**
 * Turns diff-tree rows into what `checkTreeEntries` takes: the new side of each change
 * (deletions keep their path with mode 000000) and the base modes of the old side.
 */
export function entriesFromDiffTree(rows: ReadonlyArray<DiffTreeRow>): { entries: TreeEntry[]; baseModes: Map<string, string> } {
  const baseModes = new Map<string, string>();
  const entries: TreeEntry[] = [];
  for (const r of rows) {
    const oldPath = r.oldPath ?? r.path;
    // Only the same path counts as unchanged: a renamed or copied executable is a new executable.
    if (r.oldMode !== '000000' && r.oldPath === undefined) baseModes.set(oldPath, r.oldMode);
    const type: TreeEntry['type'] = r.newMode === '160000' ? 'commit' : r.newMode === '040000' ? 'tree' : 'blob';
    entries.push({ mode: r.newMode, type, path: r.path });
  }
  return { entries, baseModes };
}
