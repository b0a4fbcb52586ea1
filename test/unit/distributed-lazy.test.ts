import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { ROOT, ensureCliBuilt } from '../support/cli';

// BullMQ and ioredis are ~1.2 MB of the bundle: the extension must
// not carry them in extension.js (they are its vendor files, test/unit/extension-bundle-redis.test.ts),
// and the engine loads them only when distributed mode is on.
it('loads BullMQ and ioredis only when distributed mode is used', () => {
  const count = (entry: string) => execFileSync(process.execPath, ['--import', 'tsx', '-e', `require(${JSON.stringify(entry)}); console.log(Object.keys(require.cache).filter((k) => /node_modules[\\\\/](bullmq|ioredis)[\\\\/]/.test(k)).length)`], { cwd: ROOT, encoding: 'utf8' }).trim();
  assert.equal(count('./src/engine/engine'), '0');
  assert.notEqual(count('./src/engine/distributed/executor'), '0', 'the probe sees a module that does load them');
  ensureCliBuilt();
  const bundle = fs.readFileSync(path.join(ROOT, 'dist/extension.js'), 'utf8');
  assert.doesNotMatch(bundle, /moveToActive/, "BullMQ's code is not in the extension bundle");
  assert.match(fs.readFileSync(path.join(ROOT, 'dist/cli.js'), 'utf8'), /moveToActive/, 'the CLI bundle has it (hyperion worker)');
});
