import * as fs from 'node:fs';

/**
 * Crash points for child processes, named by the test instead of raced by a timer:
 * `HYPERION_CRASH_AT=<point>:<n>` kills the process with SIGKILL at the n-th time it
 * reaches `<point>`. Just before dying it writes `crash <point> <n>` to stdout
 * (synchronously), so the parent counts the crashes that really happened.
 */
export function crashAtFromEnv(env: NodeJS.ProcessEnv = process.env): ((point: string) => void) | undefined {
  const spec = env.HYPERION_CRASH_AT;
  if (!spec) return undefined;
  const i = spec.lastIndexOf(':');
  const want = spec.slice(0, i);
  const nth = Number(spec.slice(i + 1));
  if (!want || !Number.isInteger(nth) || nth < 1) throw new Error(`HYPERION_CRASH_AT must be <point>:<n>, got "${spec}"`);
  let seen = 0;
  return (point) => {
    if (point !== want || ++seen !== nth) return;
    fs.writeSync(1, `crash ${point} ${nth}\n`);
    process.kill(process.pid, 'SIGKILL');
  };
}

/**
 * The seeds a randomised test runs: fixed by default so every run tests the same input;
 * `HYPERION_TEST_SEEDS=5,6,7` explores others (a failure prints its seed to replay it).
 */
export function testSeeds(defaults: number[], env: NodeJS.ProcessEnv = process.env): number[] {
  const raw = env.HYPERION_TEST_SEEDS;
  if (!raw) return defaults;
  return raw.split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n));
}
