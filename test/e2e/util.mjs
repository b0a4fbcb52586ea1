// Small helpers the e2e files share (nothing here touches the page: see workbench.mjs for that).
import net from 'node:net';

/** A loopback port free right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** Polls `cond` (sync or async) until it holds, within `ms`. */
export async function until(cond, what, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Makes `dir` a git repository with one commit of what it holds, by the e2e's person. */
export function commitAll(dir, sh) {
  const git = (...a) => sh('git', a, { cwd: dir });
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'E2E Person');
  git('config', 'user.email', 'e2e@hyperion.invalid');
  git('add', '-A');
  git('commit', '-qm', 'Initial commit');
}
