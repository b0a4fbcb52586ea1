/**
 * Path spelling in diff headers: git's C-style quoting ("a/\t" with octal escapes for
 * bytes) and the one-component prefix (`a/`, `b/`) that `git apply -p1` strips.
 */

const NAMED_ESCAPES: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, '\\': 92 };
const ESCAPE_OF: Record<number, string> = { 7: 'a', 8: 'b', 9: 't', 10: 'n', 11: 'v', 12: 'f', 13: 'r', 34: '"', 92: '\\' };
const UTF8 = new TextDecoder('utf-8', { fatal: true });
const ENCODER = new TextEncoder();

/**
 * Decodes a C-quoted path at the start of `s` (which must begin with `"`). Returns the
 * decoded value and the text after the closing quote, or null when the quoting is broken
 * (unterminated, unknown escape, octal over 255, or bytes that are not valid UTF-8).
 */
export function unquoteCPath(s: string): { value: string; rest: string } | null {
  if (!s.startsWith('"')) return null;
  const bytes: number[] = [];
  let i = 1;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '"') {
      try {
        return { value: UTF8.decode(new Uint8Array(bytes)), rest: s.slice(i + 1) };
      } catch {
        return null;
      }
    }
    if (c === '\\') {
      const n = s[i + 1];
      if (n === undefined) return null;
      const named = NAMED_ESCAPES[n];
      if (named !== undefined) {
        bytes.push(named);
        i += 2;
        continue;
      }
      const oct = s.slice(i + 1, i + 4);
      if (!/^[0-7]{3}$/.test(oct)) return null;
      const v = parseInt(oct, 8);
      if (v > 255) return null;
      bytes.push(v);
      i += 4;
      continue;
    }
    const cp = s.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    for (const b of ENCODER.encode(ch)) bytes.push(b);
    i += ch.length;
  }
  return null;
}

/** Quotes a path the way git does (with core.quotePath=false) when it needs quoting. */
export function quoteCPath(p: string): string {
  if (!/["\\\x00-\x1f\x7f]/.test(p)) return p;
  let out = '"';
  for (const ch of p) {
    const code = ch.codePointAt(0)!;
    const esc = ESCAPE_OF[code];
    if (esc !== undefined) out += `\\${esc}`;
    else if (code < 0x20 || code === 0x7f) out += `\\${code.toString(8).padStart(3, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Strips the first path component like `git apply -p1`; null when there is none. */
export function stripPrefix(name: string): string | null {
  const i = name.indexOf('/');
  if (i < 0 || i === name.length - 1) return null;
  return name.slice(i + 1);
}

/**
 * The name on a `---`/`+++` line, still carrying its prefix. `/dev/null` is null.
 * An unquoted name ends at a tab (diff -u puts a timestamp there). Returns undefined
 * when the quoting is broken.
 */
export function fileLineName(rest: string): string | null | undefined {
  let name: string;
  if (rest.startsWith('"')) {
    const q = unquoteCPath(rest);
    if (!q || (q.rest !== '' && !q.rest.startsWith('\t'))) return undefined;
    name = q.value;
  } else {
    const tab = rest.indexOf('\t');
    name = tab >= 0 ? rest.slice(0, tab) : rest;
  }
  if (name === '/dev/null') return null;
  return name;
}

/** A path on a `rename from`/`copy to` line: repository-relative, maybe quoted. */
export function headerLinePath(rest: string): string | undefined {
  if (rest.startsWith('"')) {
    const q = unquoteCPath(rest);
    return q && q.rest === '' ? q.value : undefined;
  }
  return rest === '' ? undefined : rest;
}

/**
 * The two names on a `diff --git` line, prefixes still on. Unquoted names with spaces
 * are split the way git does it: both halves must name the same file after -p1.
 * Returns null when the line does not say unambiguously.
 */
export function gitHeaderNames(rest: string): { a: string; b: string } | null {
  if (rest.startsWith('"')) {
    const q = unquoteCPath(rest);
    if (!q || !q.rest.startsWith(' ')) return null;
    const second = q.rest.slice(1);
    if (second.startsWith('"')) {
      const q2 = unquoteCPath(second);
      return q2 && q2.rest === '' ? { a: q.value, b: q2.value } : null;
    }
    return second === '' ? null : { a: q.value, b: second };
  }
  if (rest.endsWith('"')) {
    const qi = rest.indexOf(' "');
    if (qi > 0) {
      const q2 = unquoteCPath(rest.slice(qi + 1));
      if (q2 && q2.rest === '') return { a: rest.slice(0, qi), b: q2.value };
    }
  }
  if (rest.length % 2 === 1) {
    const half = (rest.length - 1) / 2;
    const a = rest.slice(0, half);
    const b = rest.slice(half + 1);
    if (rest[half] === ' ' && stripPrefix(a) !== null && stripPrefix(a) === stripPrefix(b)) return { a, b };
  }
  const parts = rest.split(' ');
  if (parts.length === 2 && parts[0] !== '' && parts[1] !== '') return { a: parts[0]!, b: parts[1]! };
  return null;
}
