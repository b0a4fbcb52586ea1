import net from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of a loopback model server, for fault tests at the
 * level of the whole engine. It does two things the loopback servers cannot:
 *
 * - it tracks every client connection, so a test can prove that cancelling a run closed
 *   every socket to the model server (`waitAllClosed`);
 * - it can cut an HTTP response in the middle of its body (`cutNext`): `drop` destroys the
 *   connection after the headers and half the body; `short` ends it cleanly there (the
 *   body is shorter than its content-length). The agents never stream, so this is how a
 *   mid-response connection loss reaches them.
 *
 * HTTP/1.1 without pipelining: the first bytes the server sends after a request are the
 * start of that request's response, which is where a cut is decided.
 */
export type CutMode = 'drop' | 'short';

export interface FaultProxy {
  readonly port: number;
  /** `http://127.0.0.1:<port>` + suffix (`/v1` for OpenAI). */
  url(suffix?: string): string;
  /** Client connections currently open. */
  openCount(): number;
  /** Client connections accepted so far. */
  readonly accepted: number;
  /** Responses cut so far. */
  readonly cuts: number;
  /** Cut the next `times` responses whose request text matches `match`. */
  cutNext(match: (requestText: string) => boolean, mode: CutMode, times?: number): void;
  /** Resolves true once no client connection is open, false after `ms`. */
  waitAllClosed(ms: number): Promise<boolean>;
  close(): Promise<void>;
}

interface Arm {
  match: (requestText: string) => boolean;
  mode: CutMode;
  left: number;
}

export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  const open = new Set<net.Socket>();
  const arms: Arm[] = [];
  let accepted = 0;
  let cuts = 0;
  const server = net.createServer((client) => {
    accepted++;
    open.add(client);
    const upstream = net.connect(targetPort, '127.0.0.1');
    let request = '';
    client.on('close', () => {
      open.delete(client);
      upstream.destroy();
    });
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('data', (b: Buffer) => {
      // Only the request head and the start of the body matter for matching.
      if (request.length < 64 * 1024) request += b.toString('utf8');
      upstream.write(b);
    });
    upstream.on('data', (b: Buffer) => {
      const startsResponse = request !== '';
      const text = request;
      request = '';
      const arm = startsResponse ? arms.find((a) => a.left > 0 && a.match(text)) : undefined;
      if (!arm) {
        client.write(b);
        return;
      }
      arm.left--;
      cuts++;
      const headEnd = b.indexOf('\r\n\r\n');
      const bodyStart = headEnd < 0 ? b.length : headEnd + 4;
      const keep = bodyStart + Math.floor((b.length - bodyStart) / 2);
      upstream.destroy();
      if (arm.mode === 'drop') {
        client.write(b.subarray(0, keep), () => client.destroy());
      } else {
        client.end(b.subarray(0, keep));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: (suffix = '') => `http://127.0.0.1:${port}${suffix}`,
    openCount: () => open.size,
    get accepted() {
      return accepted;
    },
    get cuts() {
      return cuts;
    },
    cutNext(match, mode, times = 1) {
      arms.push({ match, mode, left: times });
    },
    async waitAllClosed(ms) {
      const deadline = Date.now() + ms;
      while (open.size > 0) {
        if (Date.now() >= deadline) return false;
        await new Promise((r) => setTimeout(r, 10));
      }
      return true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
