import { git } from '../git/exec';

export interface RepoMapOptions {
  /** Cap on the map's size in bytes (default 12 000); a note says what was left out. */
  maxBytes?: number;
  /** Files listed per folder before "+N more" (default 40). */
  maxFilesPerFolder?: number;
  signal?: AbortSignal;
}

/**
 * A compact listing of the repository for the planner prompt: one line per folder,
 * `src/engine/plan/: schema.ts, validate.ts`, folders sorted. Files come from
 * `git ls-files --cached --others --exclude-standard`, so tracked and new-but-not-ignored
 * files appear and `.gitignore`d ones (node_modules, build output) never do.
 * Throws `git/failed` when `repo` is not a git repository.
 */
export async function buildRepoMap(repo: string, opts: RepoMapOptions = {}): Promise<string> {
  const maxBytes = opts.maxBytes ?? 12_000;
  const perFolder = opts.maxFilesPerFolder ?? 40;
  const r = await git(['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repo, signal: opts.signal });
  const files = [...new Set(r.stdout.split('\0').filter((f) => f.length > 0))];
  const byFolder = new Map<string, string[]>();
  for (const f of files) {
    const slash = f.lastIndexOf('/');
    const folder = slash < 0 ? './' : f.slice(0, slash + 1);
    const list = byFolder.get(folder) ?? byFolder.set(folder, []).get(folder)!;
    list.push(f.slice(slash + 1));
  }
  const folders = [...byFolder.keys()].sort((a, b) => (a === './' ? -1 : b === './' ? 1 : a < b ? -1 : a > b ? 1 : 0));
  if (folders.length === 0) return '(the repository has no files yet)';
  const header = `${files.length} files in ${folders.length} folders\n`;
  const lines: string[] = [];
  let bytes = Buffer.byteLength(header);
  let shownFolders = 0;
  let shownFiles = 0;
  for (const folder of folders) {
    const names = byFolder.get(folder)!.sort();
    const listed = names.slice(0, perFolder);
    const more = names.length - listed.length;
    const line = `${folder}: ${listed.join(', ')}${more > 0 ? ` (+${more} more)` : ''}`;
    // Leave room for the truncation note.
    if (bytes + Buffer.byteLength(line) + 1 > maxBytes - 120) break;
    lines.push(line);
    bytes += Buffer.byteLength(line) + 1;
    shownFolders++;
    shownFiles += names.length;
  }
  let map = header + lines.join('\n');
  if (shownFolders < folders.length) {
    map += `\n… truncated: ${files.length - shownFiles} more files in ${folders.length - shownFolders} folders not shown`;
  }
  return map;
}
