// The headless pipeline on a sample repository: plan -> parallel agents -> review -> merge queue.
// Uses a real provider when OPENAI_API_KEY or ANTHROPIC_API_KEY is set, recorded responses otherwise.
// `--developer whole-file` runs the older built-in developer (whole files); the default is `tools`.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const devFlag = process.argv.indexOf('--developer');
const developer = devFlag >= 0 ? process.argv[devFlag + 1] : 'tools';
if (developer !== 'tools' && developer !== 'whole-file') {
  console.error(`demo: --developer takes tools or whole-file, not ${developer ?? '(nothing)'}`);
  process.exit(2);
}
// The sample repository and the demo's config side by side: the config is the user's own, outside
// the repository (a repository's `developer` key would need confirming first).
const home = mkdtempSync(path.join(os.tmpdir(), 'hyperion-demo-'));
const repo = path.join(home, 'sample-calculator');
const configFile = path.join(home, 'hyperion.json');
cpSync(path.join(root, 'demo/sample-repo'), repo, { recursive: true });
const git = (...args) => spawnSync('git', args, { cwd: repo, stdio: 'pipe', encoding: 'utf8' });
const env = { ...process.env, GIT_AUTHOR_NAME: 'Hyperion Demo', GIT_AUTHOR_EMAIL: 'demo@hyperion.invalid', GIT_COMMITTER_NAME: 'Hyperion Demo', GIT_COMMITTER_EMAIL: 'demo@hyperion.invalid' };
spawnSync('git', ['init', '-q', '-b', 'main'], { cwd: repo });
spawnSync('git', ['add', '-A'], { cwd: repo });
spawnSync('git', ['commit', '-qm', 'Initial sample calculator'], { cwd: repo, env });
writeFileSync(configFile, `${JSON.stringify({ developer }, null, 2)}\n`);

const live = process.env.OPENAI_API_KEY || process.env.ANTHROPIC_API_KEY;
const providerArgs = live ? [] : ['--provider', 'recorded', '--recordings', path.join(root, 'demo/recordings.json')];
const banner = live
  ? `Using a LIVE provider (${process.env.OPENAI_API_KEY ? 'OpenAI' : 'Anthropic'}) from your environment.`
  : 'Using RECORDED responses (demo/recordings.json): no API key is set. Set OPENAI_API_KEY or ANTHROPIC_API_KEY for a live run.';
const developerLine = developer === 'tools'
  ? 'Developer: tools (edits files in place with native tool calls and runs the tests; --developer whole-file for the whole-file one).'
  : 'Developer: whole-file (answers with whole files).';
console.log(`\n=== Hyperion demo ===\n${banner}\n${developerLine}\nSample repository: ${repo}\n`);

const goal = 'Add a subtract function to the calculator, test it, and document it';
const cli = (...args) => spawnSync(process.execPath, [path.join(root, 'dist/cli.js'), ...args], { cwd: repo, stdio: 'inherit', env });
console.log(`$ hyperion plan "${goal}"`);
let r = cli('plan', goal, '--config', configFile, ...providerArgs);
if (r.status !== 0) process.exit(r.status ?? 1);
console.log(`\n$ hyperion run "${goal}" --approve all --check "npm test"`);
r = cli('run', goal, '--approve', 'all', '--check', 'npm test', '--config', configFile, ...providerArgs);
console.log('\n$ git log --format="%h %s%n%(trailers:only,unfold)"');
console.log(git('log', '--format=%h %s%n%(trailers:only,unfold)').stdout);
console.log('$ npm test (in the sample repository, after landing)');
const t = spawnSync('npm', ['test', '--silent'], { cwd: repo, encoding: 'utf8' });
console.log(`${t.stdout}${t.stderr}`.split('\n').filter((l) => /^\W*(tests|pass|fail) \d+/.test(l)).join('\n') || `npm test exited ${t.status}`);
console.log(`\nThe state database is in ${path.join(repo, '.git/hyperion')}; try:\n  node ${path.relative(process.cwd(), path.join(root, 'dist/cli.js'))} history --repo ${repo}`);
process.exit(r.status ?? 1);
