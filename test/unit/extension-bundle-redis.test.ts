import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { ROOT, ensureCliBuilt } from '../support/cli';

// The vsix ships no node_modules: the extension, as a coordinator with workers, reaches BullMQ
// and ioredis only through the vendor bundles beside extension.js, loaded on first use.
it('ships BullMQ and ioredis as self-contained vendor bundles that the extension requires by path', () => {
  ensureCliBuilt();
  const bundle = fs.readFileSync(path.join(ROOT, 'dist/extension.js'), 'utf8');
  const required = [...bundle.matchAll(/require\("([^"]*(?:bullmq|ioredis)[^"]*)"\)/g)].map((m) => m[1]).sort();
  assert.deepEqual(required, ['./vendor/bullmq.js', './vendor/ioredis.js'], 'no bare require a packaged extension could not resolve');
  const ignore = fs.readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8');
  for (const f of ['!dist/vendor/ioredis.js', '!dist/vendor/bullmq.js']) assert.ok(ignore.includes(f), `${f} is packaged`);

  // Away from the project's node_modules, as in an installed extension: everything they load is theirs.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-vendor-'));
  try {
    for (const f of ['ioredis.js', 'bullmq.js']) fs.copyFileSync(path.join(ROOT, 'dist/vendor', f), path.join(dir, f));
    const probe = 'const b = require("./bullmq.js"); const r = require("./ioredis.js"); console.log(JSON.stringify({ queue: typeof b.Queue, redis: typeof r.default, files: Object.keys(require.cache) }));';
    const out = JSON.parse(execFileSync(process.execPath, ['-e', probe], { cwd: dir, encoding: 'utf8' })) as { queue: string; redis: string; files: string[] };
    assert.equal(out.queue, 'function');
    assert.equal(out.redis, 'function');
    assert.deepEqual(out.files.filter((f) => !f.startsWith(fs.realpathSync(dir))), [], 'nothing from outside the vendor folder');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
