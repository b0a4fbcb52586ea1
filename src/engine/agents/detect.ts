import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import type { AgentConfig } from '../config';
import { CLAUDE_INSTALL_HINT } from './claudeCodeHarness';
import { CODEX_INSTALL_HINT } from './codexHarness';
import { killGroup } from './processRun';

/** The agents Hyperion knows by kind, and the binary each is found as. */
export const KNOWN_AGENTS = [
  { kind: 'claude-code', name: 'claude', binary: 'claude', label: 'Claude Code', installHint: CLAUDE_INSTALL_HINT },
  { kind: 'codex', name: 'codex', binary: 'codex', label: 'Codex CLI', installHint: CODEX_INSTALL_HINT },
  { kind: 'copilot', name: 'copilot', binary: 'copilot', label: 'GitHub Copilot CLI', installHint: 'install it with `npm install -g @github/copilot`, or set "path" in its agents entry' },
] as const;
export type KnownAgentKind = (typeof KNOWN_AGENTS)[number]['kind'];

export interface DetectedAgent {
  /** The `agents` entry's name, or for an agent found on PATH but not configured, the name to configure it under. */
  name: string;
  /** A known kind, or `command` for a command-line agent. */
  kind: KnownAgentKind | 'command';
  /** What to call it in a sentence ("Claude Code", or the command line). */
  label: string;
  /** True when `agents` has this entry; false for one only found on PATH. */
  configured: boolean;
  /** The absolute path of its binary, when it was found. */
  binary?: string;
  /** What `--version` said (the version number when it printed one). Known kinds only: a command line is not run. */
  version?: string;
  /** Why it cannot be used, as one sentence: not found (and how to install it), or `--version` failed. */
  problem?: string;
}

export interface DetectOptions {
  /** Configured agents (EngineConfig.agents). */
  agents?: Record<string, AgentConfig>;
  /** Where PATH (and PATHEXT on Windows) come from. Default: this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** How long one `--version` may take before its process group is killed. Default 5000 ms. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

const MAX_VERSION_OUTPUT = 4096;

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The absolute path of `binary`: itself when it names a path (absolute, or relative to the
 * working directory), else the first executable match in PATH's folders. Undefined when none.
 */
export function findOnPath(binary: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const exts = process.platform === 'win32' ? ['', ...(env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';').filter(Boolean)] : [''];
  if (binary.includes('/') || binary.includes(path.sep)) {
    const abs = path.resolve(binary);
    return exts.map((e) => abs + e).find(isExecutableFile);
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const e of exts) {
      const candidate = path.join(dir, binary + e);
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return undefined;
}

/** The first word of a command line (quotes around it removed): what the shell would look up. */
function commandBinary(command: string): string | undefined {
  const m = /^\s*(?:"([^"]+)"|'([^']+)'|(\S+))/.exec(command);
  return m ? (m[1] ?? m[2] ?? m[3]) : undefined;
}

/**
 * Runs `<binary> --version` in a process group of its own and returns its first line. Never
 * hangs: after `timeoutMs` the group is killed and a problem returned; when the binary exits,
 * anything it left running in its group (holding the output pipes open) is killed too.
 */
export function readVersion(binary: string, opts: { env?: NodeJS.ProcessEnv; timeoutMs: number; signal?: AbortSignal }): Promise<{ version?: string; problem?: string }> {
  return new Promise((resolve) => {
    let out = '';
    let err = '';
    let settled = false;
    let code: number | null = null;
    const child = spawn(binary, ['--version'], { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env, detached: process.platform !== 'win32', windowsHide: true });
    const finish = (r: { version?: string; problem?: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ problem: `\`${binary} --version\` did not answer within ${opts.timeoutMs} ms` }), opts.timeoutMs);
    const onAbort = () => finish({ problem: 'detection was cancelled' });
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout?.setEncoding('utf8').on('data', (c: string) => { if (out.length < MAX_VERSION_OUTPUT) out += c; });
    child.stderr?.setEncoding('utf8').on('data', (c: string) => { if (err.length < MAX_VERSION_OUTPUT) err += c; });
    child.on('error', (e) => finish({ problem: `\`${binary} --version\` could not start: ${e.message}` }));
    // The leader is gone: kill what it left in its group, so its pipes close and 'close' comes.
    child.on('exit', (c) => {
      code = c;
      if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
    });
    child.on('close', () => {
      const first = (text: string) => text.split('\n').map((l) => l.trim()).find((l) => l.length > 0);
      if (code !== 0) {
        finish({ problem: `\`${binary} --version\` exited with ${code === null ? 'a signal' : `code ${code}`}${first(err) ? `: ${first(err)!.slice(0, 200)}` : ''}` });
        return;
      }
      const line = first(out) ?? first(err);
      if (!line) {
        finish({ problem: `\`${binary} --version\` printed nothing` });
        return;
      }
      finish({ version: /\d+\.\d+(?:\.\d+)?(?:[-+][0-9A-Za-z.-]+)?/.exec(line)?.[0] ?? line.slice(0, 100) });
    });
  });
}

/**
 * The coding agents this machine has: every configured agent (`agents`), then each known
 * agent (Claude Code, Codex CLI, Copilot CLI) found on PATH that no configured entry of its
 * kind covers, and each known one not found, with a sentence saying how to install it. Known
 * kinds get their version from `--version`, all in parallel, each bounded by `timeoutMs`; a
 * command-line agent is only looked up, never run. Never throws.
 */
export async function detectAgents(opts: DetectOptions = {}): Promise<DetectedAgent[]> {
  const env = opts.env ?? process.env;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const jobs: Array<Promise<DetectedAgent>> = [];
  const lookUp = async (base: Omit<DetectedAgent, 'binary' | 'version' | 'problem'>, binary: string | undefined, installHint: string | undefined, runVersion: boolean): Promise<DetectedAgent> => {
    const found = binary ? findOnPath(binary, env) : undefined;
    if (!found) {
      const where = binary && (binary.includes('/') || binary.includes(path.sep)) ? `${binary} is not an executable file` : `${binary ?? 'its command'} was not found on PATH`;
      return { ...base, problem: `${base.label}: ${where}${installHint ? `; ${installHint}` : ''}.` };
    }
    if (!runVersion) return { ...base, binary: found };
    return { ...base, binary: found, ...(await readVersion(found, { env, timeoutMs, signal: opts.signal })) };
  };
  const coveredKinds = new Set<string>();
  const names = new Set(Object.keys(opts.agents ?? {}));
  for (const [name, cfg] of Object.entries(opts.agents ?? {})) {
    if ('kind' in cfg) {
      const known = KNOWN_AGENTS.find((k) => k.kind === cfg.kind);
      coveredKinds.add(cfg.kind);
      jobs.push(lookUp({ name, kind: known?.kind ?? 'command', label: known?.label ?? name, configured: true }, cfg.path ?? known?.binary, known?.installHint, true));
    } else {
      jobs.push(lookUp({ name, kind: 'command', label: cfg.command, configured: true }, commandBinary(cfg.command), undefined, false));
    }
  }
  for (const known of KNOWN_AGENTS) {
    if (coveredKinds.has(known.kind)) continue;
    // The usual name, unless a configured agent of another kind took it.
    const name = names.has(known.name) ? `${known.name}-cli` : known.name;
    jobs.push(lookUp({ name, kind: known.kind, label: known.label, configured: false }, known.binary, known.installHint, true));
  }
  return Promise.all(jobs);
}
