import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../cli';

export interface RealAgents {
  claude: string;
  codex: string;
  /** GitHub Copilot CLI (run in its bring-your-own-key mode: the GitHub-hosted path needs a login). */
  copilot: string;
  /** The cache folder (outside /tmp, where Codex will not keep its helper binaries). */
  cache: string;
}

const SETUP = path.join(ROOT, 'scripts/agents-setup.sh');

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Installs the real Claude Code and Codex CLIs (scripts/agents-setup.sh, once per machine,
 * into HYPERION_AGENTS_CACHE or ~/.cache/hyperion-agents) and returns their binaries. Test
 * files run in parallel, so a lock folder makes the second one wait for the first install
 * instead of running npm into the same folder. A failed install throws with npm's words: these
 * tests fail rather than skip, so a machine that cannot install them is noticed.
 */
export function realAgents(): RealAgents {
  const cache = process.env.HYPERION_AGENTS_CACHE ?? path.join(os.homedir(), '.cache/hyperion-agents');
  fs.mkdirSync(cache, { recursive: true });
  const lock = path.join(cache, 'install.lock');
  const deadline = Date.now() + 20 * 60_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // A lock left by a killed install is stale after 15 minutes (an install takes about one).
      const age = Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 15 * 60_000) fs.rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`waited 20 minutes for another install of the real agents (${lock}); remove that folder if no install is running`);
      else sleepSync(500);
    }
  }
  try {
    const out = execFileSync('sh', [SETUP], { env: { ...process.env, HYPERION_AGENTS_CACHE: cache }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30 * 60_000 });
    const [claude, codex, copilot] = out.trim().split('\n');
    if (!claude || !codex || !copilot) throw new Error(`scripts/agents-setup.sh printed no binaries: ${out}`);
    return { claude, codex, copilot, cache };
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`could not install the real coding agents with scripts/agents-setup.sh (needs the npm registry, about 650 MB): ${err.stderr?.trim() || err.message}`);
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}
