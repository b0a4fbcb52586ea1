import { execFileSync } from 'node:child_process';
import os from 'node:os';

/** One line naming the machine a benchmark ran on, for bench/README.md. */
export function machineLine(): string {
  let gitVersion = 'git ?';
  try {
    gitVersion = execFileSync('git', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // no git on PATH: the benchmark would have failed earlier anyway
  }
  const memGb = (os.totalmem() / 1024 ** 3).toFixed(1);
  const load = os.loadavg().map((x) => x.toFixed(1)).join(' ');
  return `${os.availableParallelism()} cpus (${os.cpus()[0]?.model.trim() ?? '?'}), ${memGb} GB, node ${process.version}, ${gitVersion}, ${os.platform()} ${os.release()}, load average ${load} at start, ${new Date().toISOString().slice(0, 10)}`;
}

/** The 1-minute load average now: a shared machine's other work shows up in every timing. */
export function loadNow(): string {
  return os.loadavg()[0]!.toFixed(1);
}

export function geomean(xs: readonly number[]): number {
  return Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
}

/** A plain-text table with right-aligned numeric columns. */
export function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i < 2 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}
