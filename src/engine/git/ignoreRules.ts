/**
 * The plain subset of git's ignore rules, decided in this process so that a change without a
 * checkout need not start `git check-ignore` (a process on every task's critical path). A rule
 * set is taken only when every line is in the subset: a name or a path with `*` and `?`, an
 * optional leading `/`, an optional trailing `/` for folders, comments and blank lines. A line
 * with `!`, `\`, `[`, `**` or a carriage return makes `parseIgnoreRules` answer undefined, and
 * the caller asks git. Without negation a path is ignored when any rule matches it or one of
 * its folders (git never looks inside an ignored folder), whatever the rules' order.
 */
export interface IgnoreRule {
  /** The folder of the file the rule came from ('' for the top and for info/exclude, core.excludesFile). */
  base: string;
  /** The pattern as a regular expression over a name, or over a path relative to `base` when `anchored`. */
  re: RegExp;
  anchored: boolean;
  dirOnly: boolean;
}

function globToRegExp(glob: string, ignoreCase: boolean): RegExp {
  let src = '';
  for (const ch of glob) src += ch === '*' ? '[^/]*' : ch === '?' ? '[^/]' : ch.replace(/[.+^${}()|\]\\/-]/g, '\\$&');
  return new RegExp(`^${src}$`, ignoreCase ? 'i' : '');
}

/** The rules of one ignore file, or undefined when a line is outside the plain subset. */
export function parseIgnoreRules(text: string, base: string, ignoreCase: boolean): IgnoreRule[] | undefined {
  if (text.includes('\r')) return undefined;
  const rules: IgnoreRule[] = [];
  for (const raw of text.split('\n')) {
    if (raw.startsWith('#')) continue;
    const line = raw.replace(/ +$/, '');
    if (line === '') continue;
    if (line.startsWith('!') || /[\\[]/.test(line) || line.includes('**')) return undefined;
    const dirOnly = line.endsWith('/');
    let p = dirOnly ? line.slice(0, -1) : line;
    if (p === '' || p.endsWith('/') || p.includes('//')) return undefined;
    const anchored = p.includes('/');
    if (p.startsWith('/')) p = p.slice(1);
    if (p === '') return undefined;
    rules.push({ base, re: globToRegExp(p, ignoreCase), anchored, dirOnly });
  }
  return rules;
}

/** Whether a file at `path` is ignored by `rules`. */
export function isIgnored(rules: readonly IgnoreRule[], path: string): boolean {
  const parts = path.split('/');
  for (let k = 0; k < parts.length; k++) {
    const isDir = k < parts.length - 1;
    const at = parts.slice(0, k + 1).join('/');
    for (const r of rules) {
      if (r.dirOnly && !isDir) continue;
      if (r.base !== '' && !at.startsWith(`${r.base}/`)) continue;
      const subject = r.anchored ? (r.base === '' ? at : at.slice(r.base.length + 1)) : parts[k]!;
      if (r.re.test(subject)) return true;
    }
  }
  return false;
}
