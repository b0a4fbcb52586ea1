import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Engine } from '../engine/api';
import type { EngineConfig } from '../engine/config';
import { assertConfigTrusted, fileTrustStore, riskyKeysIn } from '../engine/configTrust';
import { createEngine } from '../engine/engine';
import { EngineError } from '../engine/errors';
import { git } from '../engine/git/exec';
import type { Logger, UserPrompt } from '../engine/ports';
import { stateDirFor } from '../engine/store/location';
import { cliConfig, readConfigFile } from './config';
import { cliLogger } from './output';

export interface EngineFlags {
  repo?: string;
  json?: boolean;
  verbose?: boolean;
  provider?: string;
  model?: string;
  agent?: string;
  'base-url'?: string;
  recordings?: string;
  check?: string;
  config?: string;
  'trust-config'?: boolean;
  redis?: string;
}

function terminalPrompt(): UserPrompt | undefined {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  return {
    async askQuestion(question, opts) {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        const hint = opts?.choices?.length ? ` [${opts.choices.join(' / ')}]` : '';
        const answer = (await rl.question(`? ${question}${hint}\n> `, { signal: opts?.signal })).trim();
        return answer.length > 0 ? answer : undefined;
      } finally {
        rl.close();
      }
    },
  };
}

async function workTreeOf(repo: string): Promise<string> {
  const top = await git(['rev-parse', '--show-toplevel'], { cwd: repo, check: false }).catch(() => undefined);
  if (!top || top.code !== 0) throw new EngineError('usage/not-a-repo', `"${repo}" is not inside a git repository`);
  return top.stdout.trim();
}

/**
 * The agent for every task that names none (`--agent` wins over `HYPERION_AGENT`); an empty
 * variable counts as unset. Throws `usage/flag` for a name no config could hold.
 */
function defaultAgent(flag: string | undefined, env: string | undefined): string | undefined {
  const name = flag ?? (env?.trim() || undefined);
  if (name === undefined) return undefined;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) {
    throw new EngineError('usage/flag', `${flag !== undefined ? '--agent' : 'HYPERION_AGENT'} must name a configured agent (letters, digits, dot, dash or underscore), not "${name}"`);
  }
  return name;
}

/**
 * Opens the engine for one CLI command. The config file is checked for trust first: when it
 * lies in the repository and sets keys that can run commands, receive keys or loosen policy,
 * its exact content must have been confirmed (`--trust-config` records its hash in the state
 * folder inside `.git`), else `usage/untrusted-config` (exit 2) and nothing else happens.
 * `requireProvider`: the command always calls a model (plan, run).
 */
/**
 * The repository and its config for one CLI command, the config's trust checked first (see
 * `openCliEngine`). `--redis URL` sends agent tasks to workers (`distributed.redisUrl`).
 */
export async function loadCliConfig(flags: EngineFlags, opts: { requireProvider: boolean; log?: Logger }): Promise<{ repo: string; config: EngineConfig; log: Logger }> {
  const repo = path.resolve(flags.repo ?? process.cwd());
  const log = opts.log ?? cliLogger(flags.verbose === true);
  const workTree = await workTreeOf(repo);
  const file = readConfigFile(repo, workTree, flags.config);
  if (file.text !== undefined && file.inRepo) {
    const rel = path.relative(workTree, file.path) || path.basename(file.path);
    const res = assertConfigTrusted(
      { label: rel, text: file.text, riskyKeys: riskyKeysIn(file.raw) },
      fileTrustStore(await stateDirFor(workTree)),
      { confirm: flags['trust-config'] === true, howToTrust: 'run again with --trust-config to trust this exact content' },
    );
    if (res.recorded) process.stderr.write(`hyperion: trusted this content of ${rel} (sha256 ${res.hash.slice(0, 12)}); any change to it will ask again.\n`);
  }
  const config = cliConfig(file, { provider: flags.provider, model: flags.model, baseUrl: flags['base-url'], recordings: flags.recordings, check: flags.check }, process.env, { requireProvider: opts.requireProvider });
  if (flags.redis !== undefined) config.distributed = { remote: config.distributed?.remote ?? 'origin', checks: config.distributed?.checks ?? false, redisUrl: flags.redis };
  return { repo, config, log };
}

export async function openCliEngine(flags: EngineFlags, opts: { requireProvider: boolean; log?: Logger; readOnly?: boolean }): Promise<Engine> {
  const { repo, config, log } = await loadCliConfig(flags, opts);
  const agent = defaultAgent(flags.agent, process.env.HYPERION_AGENT);
  if (agent !== undefined) config.defaultAgent = agent;
  return createEngine({
    repo,
    config,
    readOnly: opts.readOnly,
    ports: {
      log,
      ask: flags.json ? undefined : terminalPrompt(),
      secrets: {
        async get(name) {
          if (name === 'openai') return process.env.OPENAI_API_KEY;
          if (name === 'anthropic') return process.env.ANTHROPIC_API_KEY;
          return process.env.OPENAI_COMPATIBLE_API_KEY;
        },
      },
    },
  });
}
