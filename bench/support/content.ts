/**
 * Deterministic, plausible file contents of a chosen size: what a model "writes" in the
 * benchmarks. Only the size matters for timing; the text looks like code so that git, the
 * patch policy and the prompts see realistic input.
 */

/** mulberry32 seeded from a string: the same path always yields the same file. */
export function seededRandom(seed: string | number): () => number {
  let h = typeof seed === 'number' ? seed >>> 0 : 2166136261;
  if (typeof seed === 'string') for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 16777619) >>> 0;
  return () => {
    h = (h + 0x6d2b79f5) >>> 0;
    let t = h;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NOUNS = ['cart', 'order', 'item', 'price', 'coupon', 'stock', 'user', 'session', 'invoice', 'refund', 'shipment', 'tax', 'report', 'token', 'limit'];
const VERBS = ['compute', 'validate', 'format', 'parse', 'merge', 'apply', 'collect', 'resolve', 'normalize', 'summarize', 'check', 'build'];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function cap(s: string): string {
  return s[0]!.toUpperCase() + s.slice(1);
}

function tsBlock(r: () => number, n: number): string {
  const noun = pick(r, NOUNS);
  const verb = pick(r, VERBS);
  const name = `${verb}${cap(noun)}${n}`;
  return [
    `/** ${cap(verb)}s the ${noun} records of one request; never mutates its input. */`,
    `export function ${name}(items: readonly ${cap(noun)}Record[], opts: { limit?: number; strict?: boolean } = {}): ${cap(noun)}Summary {`,
    `  const limit = opts.limit ?? ${10 + Math.floor(r() * 90)};`,
    '  let total = 0;',
    '  const seen = new Set<string>();',
    '  for (const item of items.slice(0, limit)) {',
    "    if (seen.has(item.id)) { if (opts.strict) throw new Error(`duplicate ${item.id}`); continue; }",
    '    seen.add(item.id);',
    `    total += Math.round(item.amount * ${(1 + r()).toFixed(2)});`,
    '  }',
    '  return { count: seen.size, total };',
    '}',
    '',
  ].join('\n');
}

function testBlock(r: () => number, n: number): string {
  const noun = pick(r, NOUNS);
  const verb = pick(r, VERBS);
  return [
    `test('${verb}s ${noun} records without duplicates (${n})', () => {`,
    `  const items = [{ id: 'a', amount: ${Math.floor(r() * 100)} }, { id: 'b', amount: ${Math.floor(r() * 100)} }, { id: 'a', amount: 1 }];`,
    `  const out = ${verb}${cap(noun)}${n}(items);`,
    '  assert.equal(out.count, 2);',
    `  assert.throws(() => ${verb}${cap(noun)}${n}(items, { strict: true }), /duplicate a/);`,
    '});',
    '',
  ].join('\n');
}

function mdBlock(r: () => number, n: number): string {
  const noun = pick(r, NOUNS);
  const verb = pick(r, VERBS);
  return [
    `## ${cap(noun)} handling (${n})`,
    '',
    `The service ${verb}s ${noun} records before they reach storage. Each record carries an id and an amount in cents;`,
    `duplicates are dropped, or rejected when the caller asks for strict mode. Limits default to ${10 + Math.floor(r() * 90)} records per request.`,
    '',
    `- ${cap(verb)} is pure and safe to retry.`,
    `- Errors name the offending ${noun} id.`,
    '',
  ].join('\n');
}

/** About `chars` characters of content suited to the file's kind (by extension and folder). */
export function fileContent(path: string, chars: number): string {
  const r = seededRandom(path);
  const isMd = path.endsWith('.md');
  const isTest = /(^|\/)test\//.test(path) || path.includes('.test.');
  const head = isMd
    ? `# ${path.split('/').pop()!.replace(/\.md$/, '')}\n\n`
    : isTest
      ? "import assert from 'node:assert/strict';\nimport test from 'node:test';\n\n"
      : `// ${path}\n\n`;
  let out = head;
  // Whole blocks only, so the file stays well-formed; it overshoots `chars` by less than one block.
  for (let n = 1; out.length < chars; n++) out += isMd ? mdBlock(r, n) : isTest ? testBlock(r, n) : tsBlock(r, n);
  return out;
}
