/**
 * Path-set overlap, as the queue needs it to combine changes safely: two changes overlap
 * when they touch the same path, or one touches a directory the other writes inside.
 */

/** True when `p` equals, contains or lies inside one of `taken`'s paths (a file/directory clash). */
export function overlaps(p: string, taken: Set<string>, dirs: Set<string>): boolean {
  if (taken.has(p) || dirs.has(p)) return true;
  for (let i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) if (taken.has(p.slice(0, i))) return true;
  return false;
}

export function addTaken(p: string, taken: Set<string>, dirs: Set<string>): void {
  taken.add(p);
  for (let i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) dirs.add(p.slice(0, i));
}
