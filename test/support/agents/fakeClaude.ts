import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A stand-in `claude` binary for tests of what Hyperion does around an agent (its events, its
 * ledger, its budget, its environment): a node script that records its argv and environment to
 * `<dir>/calls.jsonl` (outside the worktree), then plays `lines` (JSON values printed one a line
 * as Claude Code's stream-json, `{"$write": [file, text]}` writing a file in its working
 * directory, `{"$waitFor": file}` waiting until that file exists, `{"$sleep": ms}`, `{"$print": text}`
 * printing text as it is, for agents that answer in text), then exits
 * 0, or keeps printing `forever` every 20 ms when given (each `$n` in it replaced by a counter). The real Claude Code is tested
 * against a loopback server in agents-real-claude.test.ts.
 */
export function fakeClaude(lines: unknown[], opts: { forever?: unknown } = {}): { bin: string; dir: string; calls(): Array<{ argv: string[]; env: Record<string, string>; pid: number }>; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-fake-claude-'));
  const bin = path.join(dir, 'claude');
  const script = `#!${process.execPath}
const fs = require('fs');
fs.appendFileSync(${JSON.stringify(path.join(dir, 'calls.jsonl'))}, JSON.stringify({ argv: process.argv.slice(2), env: process.env, pid: process.pid }) + '\\n');
const lines = ${JSON.stringify(lines)};
const forever = ${JSON.stringify(opts.forever ?? null)};
(async () => {
  for (const l of lines) {
    if (l && l.$write) fs.writeFileSync(l.$write[0], l.$write[1]);
    else if (l && l.$waitFor) while (!fs.existsSync(l.$waitFor)) await new Promise((r) => setTimeout(r, 20));
    else if (l && l.$sleep) await new Promise((r) => setTimeout(r, l.$sleep));
    else if (l && typeof l.$print === 'string') process.stdout.write(l.$print);
    else process.stdout.write(JSON.stringify(l) + '\\n');
  }
  if (forever !== null) {
    let n = 0;
    for (;;) {
      n++;
      process.stdout.write(JSON.stringify(forever).replaceAll('$n', String(n)) + '\\n');
      await new Promise((r) => setTimeout(r, 20));
    }
  }
})();
`;
  fs.writeFileSync(bin, script, { mode: 0o755 });
  return {
    bin,
    dir,
    calls: () => {
      const f = path.join(dir, 'calls.jsonl');
      return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : [];
    },
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** Claude Code's stream-json lines for one response calling one tool, with that response's usage. */
export function toolUseLine(id: string, name: string, input: Record<string, unknown>, usage = { input_tokens: 100, output_tokens: 20 }): unknown {
  return { type: 'assistant', message: { id, role: 'assistant', model: 'claude-test', content: [{ type: 'tool_use', id: `tu_${id}`, name, input }], usage } };
}

export function resultLine(text: string, costUsd: number, usage = { input_tokens: 300, output_tokens: 60 }, subtype = 'success'): unknown {
  return { type: 'result', subtype, is_error: subtype !== 'success', num_turns: 2, result: text, total_cost_usd: costUsd, usage };
}
