import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EngineError } from './errors';

/**
 * Trust of configuration that comes from the repository (`.hyperion.json`, or a workspace's
 * `.vscode/settings.json`). A patch can write those files, so a value in them that can run a
 * command, send an API key somewhere or loosen the change policy must not take effect until
 * the user has confirmed that exact content once. Confirmed content is remembered by its hash
 * outside the repository (the CLI: `<git common dir>/hyperion/trusted-config.json`; the
 * extension: its global state), so a patch cannot confirm itself.
 */

/**
 * EngineConfig keys (dotted paths) that must be confirmed when they come from the repository:
 * - `checkCommand` runs a shell command on every landing;
 * - every provider `baseUrl` receives the user's API key with each call;
 * - `providers.recorded.file` makes the engine read a file anywhere on disk;
 * - `protectedPaths` and `maxPatchBytes` can switch off protection and size limits;
 * - `targetRef` chooses which branch changes land on;
 * - `agents` names commands that run as coding agents;
 * - `defaultAgent` hands every task to one of them.
 * - `distributed.redisUrl` and `distributed.remote` decide which machines get the tasks and code.
 * - `agent.allowedCommands` adds commands the built-in developer may run, and `developer`
 *   switches on the developer that runs the repository's test and lint scripts.
 * Everything else (routes, prices, timeouts, concurrency) only tunes work the user asked for.
 */
export const RISKY_CONFIG_KEYS = [
  'checkCommand',
  'providers.openai.baseUrl',
  'providers.anthropic.baseUrl',
  'providers.openai-compatible.baseUrl',
  'providers.recorded.file',
  'protectedPaths',
  'maxPatchBytes',
  'targetRef',
  'agents',
  'defaultAgent',
  'distributed.redisUrl',
  'distributed.remote',
  'agent.allowedCommands',
  'developer',
] as const;

/** The risky keys a raw (unparsed) config object sets, in RISKY_CONFIG_KEYS order. */
export function riskyKeysIn(raw: unknown): string[] {
  return RISKY_CONFIG_KEYS.filter((key) => {
    let v: unknown = raw;
    for (const part of key.split('.')) {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
      v = (v as Record<string, unknown>)[part];
    }
    return v !== undefined && v !== null;
  });
}

/** SHA-256 of the exact content (hex). Any edit, even whitespace, asks again. */
export function contentHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Deterministic JSON (sorted keys), for hashing values that are not a file (workspace settings). */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** Where confirmed hashes live. Implementations must keep them outside the repository's work tree. */
export interface TrustedConfigStore {
  has(hash: string): boolean;
  /** Remembers a confirmed hash; `label` (a path or a scope) is kept for the user reading the file. */
  add(hash: string, label: string): void;
}

const TRUST_FILE = 'trusted-config.json';

interface TrustFile {
  version: 1;
  trusted: Array<{ hash: string; label: string; at: number }>;
}

function readTrustFile(file: string): TrustFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, trusted: [] };
    throw new EngineError('store/trust-unreadable', `cannot read the list of trusted configurations "${file}"`, { cause: e });
  }
  try {
    const parsed = JSON.parse(text) as TrustFile;
    if (Array.isArray(parsed.trusted)) return { version: 1, trusted: parsed.trusted.filter((t) => typeof t?.hash === 'string') };
  } catch {
    // fall through: a damaged list trusts nothing, which only means asking again
  }
  return { version: 1, trusted: [] };
}

/**
 * The CLI's store: `<stateDir>/trusted-config.json` (stateDir is `<git common dir>/hyperion`,
 * inside `.git`, where no patch can write). Writes go to a per-process temp file and are
 * renamed into place, so concurrent CLI processes never read a torn list.
 */
export function fileTrustStore(stateDir: string): TrustedConfigStore {
  const file = path.join(stateDir, TRUST_FILE);
  return {
    has: (hash) => readTrustFile(file).trusted.some((t) => t.hash === hash),
    add(hash, label) {
      const list = readTrustFile(file);
      if (list.trusted.some((t) => t.hash === hash)) return;
      list.trusted.push({ hash, label, at: Date.now() });
      mkdirSync(stateDir, { recursive: true });
      const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      try {
        writeFileSync(tmp, `${JSON.stringify(list, null, 2)}\n`);
        renameSync(tmp, file);
      } catch (e) {
        rmSync(tmp, { force: true });
        throw new EngineError('store/write-failed', `cannot record the trusted configuration in "${file}"`, { cause: e });
      }
    },
  };
}

export interface RepoConfigCheck {
  /** What to call the source in messages (".hyperion.json", "workspace settings"). */
  label: string;
  /** The exact text (file content or canonical JSON of the values) that is hashed. */
  text: string;
  /** Risky keys the content sets (see riskyKeysIn); empty means nothing to confirm. */
  riskyKeys: string[];
}

/**
 * Decides whether repository config may take effect. Content without risky keys always may.
 * Content with risky keys may when its hash was confirmed before, or when `confirm` is true (the
 * user confirmed it now: `--trust-config`, or a modal answer), in which case the hash is
 * recorded. Otherwise throws `usage/untrusted-config` naming the keys; `howToTrust` ends the
 * sentence with what the host's user should do.
 */
export function assertConfigTrusted(check: RepoConfigCheck, store: TrustedConfigStore, opts: { confirm: boolean; howToTrust: string }): { hash: string; recorded: boolean } {
  const hash = contentHash(check.text);
  if (check.riskyKeys.length === 0 || store.has(hash)) return { hash, recorded: false };
  if (opts.confirm) {
    store.add(hash, check.label);
    return { hash, recorded: true };
  }
  throw new EngineError(
    'usage/untrusted-config',
    `${check.label} sets ${check.riskyKeys.join(', ')}, which can run commands, receive your API key or loosen the change policy, and this content was not confirmed: review it, then ${opts.howToTrust}`,
    { details: { keys: check.riskyKeys, hash } },
  );
}
