import type { HunkView } from '../../engine/api';

/**
 * The inline review of one change, without VS Code: where each hunk sits in the proposed
 * file (added lines, removed lines as ghost text, the line its Accept/Reject lens goes on),
 * and the person's decision per hunk, turned into one engine call when every hunk is decided.
 */

export interface HunkPlacement {
  path: string;
  index: number;
  /** 0-based line in the proposed file where the hunk's lens goes (its first change). */
  anchorLine: number;
  /** 0-based lines of the proposed file that the hunk adds. */
  addedLines: number[];
  /** Removed lines, each group shown on the proposed line it was removed before (0-based; the last line when at the end). */
  removed: Array<{ line: number; texts: string[] }>;
  wholeFile: boolean;
}

/** Places the hunks of one file in its proposed text of `lineCount` lines. */
export function placeHunks(hunks: readonly HunkView[], path: string, lineCount: number): HunkPlacement[] {
  const last = Math.max(0, lineCount - 1);
  return hunks.filter((h) => h.path === path).map((h) => {
    const addedLines: number[] = [];
    const removed: HunkPlacement['removed'] = [];
    // newStart is 1-based; a hunk with no new lines names the line before it.
    let line = h.newLines === 0 ? h.newStart : h.newStart - 1;
    let pending: string[] = [];
    const flush = () => {
      if (pending.length > 0) removed.push({ line: Math.min(line, last), texts: pending });
      pending = [];
    };
    for (const l of h.lines) {
      const c = l[0];
      if (c === '-') pending.push(l.slice(1));
      else if (c === '+') (flush(), addedLines.push(line++));
      else if (c === '\\') continue;
      else (flush(), line++);
    }
    flush();
    const firstChange = Math.min(...addedLines, ...removed.map((r) => r.line));
    const anchorLine = h.wholeFile ? 0 : Number.isFinite(firstChange) ? Math.min(firstChange, last) : 0;
    return { path: h.path, index: h.index, anchorLine, addedLines, removed, wholeFile: h.wholeFile };
  });
}

export type Decision = 'accept' | 'reject';

export type ReviewOutcome =
  | { kind: 'undecided'; left: Array<{ path: string; index: number }> }
  | { kind: 'approve' }
  | { kind: 'reject' }
  | { kind: 'partial'; hunks: Array<{ path: string; index: number }> };

const key = (path: string, index: number) => `${index}\0${path}`;

/** The decisions on one version of one change. A new version starts a new session. */
export class ReviewSession {
  private readonly decisions = new Map<string, Decision>();
  constructor(readonly changeId: string, readonly version: number, readonly hunks: readonly HunkView[]) {}

  decide(path: string, index: number, d: Decision | undefined): void {
    if (!this.hunks.some((h) => h.path === path && h.index === index)) return;
    if (d === undefined) this.decisions.delete(key(path, index));
    else this.decisions.set(key(path, index), d);
  }

  decision(path: string, index: number): Decision | undefined {
    return this.decisions.get(key(path, index));
  }

  counts(): { accepted: number; rejected: number; total: number } {
    const all = [...this.decisions.values()];
    return { accepted: all.filter((d) => d === 'accept').length, rejected: all.filter((d) => d === 'reject').length, total: this.hunks.length };
  }

  /** What applying the review does now. */
  outcome(): ReviewOutcome {
    const left = this.hunks.filter((h) => this.decision(h.path, h.index) === undefined).map((h) => ({ path: h.path, index: h.index }));
    if (left.length > 0) return { kind: 'undecided', left };
    const accepted = this.hunks.filter((h) => this.decision(h.path, h.index) === 'accept').map((h) => ({ path: h.path, index: h.index }));
    if (accepted.length === this.hunks.length) return { kind: 'approve' };
    if (accepted.length === 0) return { kind: 'reject' };
    return { kind: 'partial', hunks: accepted };
  }

  /** The anchor of the next (or previous) hunk after `line` in `placements`, wrapping around. */
  static step(placements: readonly HunkPlacement[], line: number, dir: 1 | -1): HunkPlacement | undefined {
    const sorted = [...placements].sort((a, b) => a.anchorLine - b.anchorLine);
    if (sorted.length === 0) return undefined;
    if (dir === 1) return sorted.find((p) => p.anchorLine > line) ?? sorted[0];
    return [...sorted].reverse().find((p) => p.anchorLine < line) ?? sorted[sorted.length - 1];
  }
}
