/**
 * A small path glob matcher: `*` matches within one path component, `?` one character
 * other than `/`, `**` any number of whole components (`a/**` matches everything under
 * `a/`, `**\/x` matches `x` at any depth). Every other character is literal. Paths are
 * repository-relative with `/` separators.
 */

const cache = new Map<string, RegExp>();

function escapeRe(ch: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(ch) ? `\\${ch}` : ch;
}

/** Compiles a glob. Case-insensitive by default: protected files on Windows and macOS ignore case. */
export function globToRegExp(glob: string, opts: { caseSensitive?: boolean } = {}): RegExp {
  const key = `${opts.caseSensitive ? 's' : 'i'}:${glob}`;
  const hit = cache.get(key);
  if (hit) return hit;
  let re = '';
  let i = 0;
  while (i < glob.length) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      const atStart = i === 0 || glob[i - 1] === '/';
      const next = glob[i + 2];
      if (atStart && next === '/') {
        re += '(?:[^/]*/)*'; // `**/`: zero or more whole directories
        i += 3;
        continue;
      }
      if (atStart && next === undefined) {
        re += '.*'; // trailing `**`: everything below
        i += 2;
        continue;
      }
      re += '[^/]*'; // `**` inside a component behaves like `*`
      i += 2;
      continue;
    }
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += escapeRe(c);
    i++;
  }
  const compiled = new RegExp(`^${re}$`, opts.caseSensitive ? 'u' : 'iu');
  if (cache.size > 500) cache.clear();
  cache.set(key, compiled);
  return compiled;
}

export function matchesGlob(path: string, glob: string, opts: { caseSensitive?: boolean } = {}): boolean {
  return globToRegExp(glob, opts).test(path);
}

/** Compiles a list once; the returned function gives the first glob that matches a path. */
export function compileGlobs(globs: readonly string[], opts: { caseSensitive?: boolean } = {}): (path: string) => string | undefined {
  const compiled = globs.map((g) => [g, globToRegExp(g, opts)] as const);
  return (path) => compiled.find(([, re]) => re.test(path))?.[0];
}

/** The first glob that matches `path`, or undefined. */
export function firstMatchingGlob(path: string, globs: readonly string[], opts: { caseSensitive?: boolean } = {}): string | undefined {
  return globs.find((g) => matchesGlob(path, g, opts));
}
