import { filePatch } from './queue-repo';

/**
 * Generators for the fuzz test: raw plan-like values (mostly wrong in some way) and
 * ready-made patches (mostly malformed or hostile). Everything is drawn from `rand` so a
 * failing case replays from its seed.
 */
export type Rand = () => number;

export const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
const int = (rand: Rand, lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

const WEIRD = [
  '', ' ', '\t', 'ü', 'ünïcödé', '日本語', '🙂', 'a\nb', 'a\r\nb', 'nul\0byte', '\u2028sep', '../up', '/abs', 'C:\\win', '.git/config', 'a//b', 'a/./b',
  'x'.repeat(65), 'y'.repeat(300), '-dash', '.dot', 'ok-id', 'ok.id_2', '$(rm -rf /)', '`id`', '"quoted"', "it's", '%s%n', '<script>', 'null', 'undefined', '__proto__', 'constructor',
];
const TYPES = ['design', 'code_gen', 'test', 'audit', 'optimize', 'docs', 'deploy'];

export function weirdString(rand: Rand): string {
  return rand() < 0.7 ? pick(rand, WEIRD) : Array.from({ length: int(rand, 0, 12) }, () => String.fromCharCode(int(rand, 0, 0x2fff))).join('');
}

function taskId(rand: Rand, i: number): string {
  const r = rand();
  if (r < 0.6) return `t${i}`;
  if (r < 0.75) return `t${int(rand, 0, Math.max(0, i - 1))}`; // a likely duplicate
  return weirdString(rand);
}

/** A value shaped more or less like a plan: duplicates, cycles, unknown deps, huge counts, weird strings. */
export function randomRawPlan(rand: Rand): unknown {
  const r = rand();
  if (r < 0.03) return pick(rand, [null, 42, 'plan', [], {}, { tasks: 'no' }, { goal: 'g', confidence: 0.5, tasks: [null] }]);
  const count = r < 0.06 ? int(rand, 500, 3000) : r < 0.1 ? int(rand, 21, 40) : r < 0.13 ? 0 : int(rand, 1, 7);
  const ids = Array.from({ length: count }, (_, i) => taskId(rand, i));
  const tasks = ids.map((id, i) => {
    const deps: string[] = [];
    const nd = rand() < 0.5 ? 0 : int(rand, 1, 3);
    for (let k = 0; k < nd; k++) {
      const d = rand();
      // Mostly earlier tasks (acyclic); sometimes later ones (cycles), itself, or unknown names.
      deps.push(d < 0.6 && i > 0 ? ids[int(rand, 0, i - 1)] : d < 0.75 ? ids[int(rand, 0, ids.length - 1)] : d < 0.8 ? id : d < 0.9 ? `ghost${k}` : weirdString(rand));
    }
    const task: Record<string, unknown> = {
      id,
      title: rand() < 0.8 ? `task ${i}` : weirdString(rand),
      type: rand() < 0.95 ? pick(rand, TYPES) : weirdString(rand),
      prompt: rand() < 0.9 ? `do ${i}` : weirdString(rand),
      dependsOn: deps,
      files: rand() < 0.8 ? [`fz/${i}.txt`] : [weirdString(rand)],
    };
    if (rand() < 0.1) task.acceptanceCriteria = [weirdString(rand)];
    if (rand() < 0.03) delete task.title;
    if (rand() < 0.02) task.dependsOn = 'nope';
    return task;
  });
  return {
    goal: rand() < 0.9 ? 'fuzzed goal' : weirdString(rand),
    rationale: '',
    confidence: rand() < 0.95 ? rand() : pick(rand, [2, -1, Number.NaN, '0.5']),
    questions: [],
    assumptions: [],
    tasks,
  };
}

/** A ready-made patch for a task: a few valid, most malformed, hostile or conflicting. */
export function randomPatch(rand: Rand, taskIndex: number): string {
  const own = `fz/${taskIndex}.txt`;
  const valid = filePatch(own, null, `fuzz ${taskIndex}\n`);
  switch (int(rand, 0, 13)) {
    case 0:
    case 1:
      return valid;
    case 2:
      return '';
    case 3:
      return valid.slice(0, int(rand, 1, valid.length - 1)); // truncated
    case 4:
      return filePatch(pick(rand, ['.git/config', '../outside.txt', '/etc/passwd', '.git/hooks/pre-commit', 'a/../../b']), null, 'pwned\n');
    case 5:
      return filePatch('README.md', 'not what is there\n', 'changed\n'); // wrong context
    case 6:
      return Array.from({ length: int(rand, 1, 400) }, () => String.fromCharCode(int(rand, 0, 0xffff))).join('');
    case 7:
      return `diff --git a/${own} b/${own}\nnew file mode 100644\nGIT binary patch\nliteral 12\n${'%'.repeat(int(rand, 1, 90))}\n\n`;
    case 8:
      return filePatch('fz/shared.txt', null, `task ${taskIndex}\n`); // collides with other tasks
    case 9:
      return valid.replace(/\n/g, '\r\n');
    case 10:
      return filePatch(own, null, 'z'.repeat(30_000) + '\n'); // over maxPatchBytes in the test config
    case 11:
      return `--- a/${own}\n+++ b/${own}\n@@ -1,1 +1,1 @@\n-${weirdString(rand)}\n+${weirdString(rand)}\n`;
    case 12:
      return filePatch(`fz/${weirdString(rand)}`, null, 'x\n');
    default:
      return `${valid}\0${valid}`;
  }
}
