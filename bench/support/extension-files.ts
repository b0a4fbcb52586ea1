// File-level helpers for bench/extension.bench.ts: the production build into a private
// folder, sizes, the entries of a .vsix, and the activation lines of the e2e logs.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

/**
 * Runs the project's own `scripts/build.mjs --production` with a temp folder as working
 * directory (holding a `src` symlink), so the bundles land in `<tmp>/dist` and the shared
 * `dist/` that others build, package and test from is left alone. esbuild follows the
 * symlink to the real sources, so `node_modules` and `tsconfig.json` resolve as usual.
 * The caller removes `dir`.
 */
export function buildProduction(root: string, node: string): { dir: string; dist: string; ms: number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-bench-build-'));
  fs.symlinkSync(path.join(root, 'src'), path.join(dir, 'src'), 'dir');
  const t0 = performance.now();
  const r = spawnSync(node, [path.join(root, 'scripts', 'build.mjs'), '--production'], { cwd: dir, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`production build failed (exit ${r.status}):\n${r.stderr}${r.stdout}`);
  }
  return { dir, dist: path.join(dir, 'dist'), ms };
}

export interface SizeRow {
  name: string;
  raw: number;
  gzip: number;
}

/** Raw and gzip (zlib default level 6) sizes in bytes. */
export function sizeOf(file: string): SizeRow {
  const buf = fs.readFileSync(file);
  return { name: path.basename(file), raw: buf.length, gzip: zlib.gzipSync(buf).length };
}

export function kb(bytes: number): string {
  return (bytes / 1024).toFixed(1);
}

/** The entries of a zip (a .vsix) from its central directory: name and uncompressed/compressed sizes. */
export function zipEntries(file: string): Array<{ name: string; size: number; compressed: number }> {
  const buf = fs.readFileSync(file);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65_535); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${file} is not a zip (no end of central directory)`);
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const out: Array<{ name: string; size: number; compressed: number }> = [];
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`${file}: bad central directory entry ${i}`);
    const compressed = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    out.push({ name: buf.toString('utf8', p + 46, p + 46 + nameLen), size, compressed });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

export interface ActivationLine {
  file: string;
  mtime: Date;
  line: string;
  activateMs: number;
  trusted?: boolean;
}

/**
 * The activation figures in the e2e's copies of the Hyperion output channel. Accepts both
 * `Hyperion activated {"ms":20,...}` (what extension.ts logs) and `Hyperion activated in 20 ms`.
 */
export function e2eActivations(dir: string): ActivationLine[] {
  if (!fs.existsSync(dir)) return [];
  const out: ActivationLine[] = [];
  for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('Hyperion.log')).sort()) {
    const file = path.join(dir, name);
    const mtime = fs.statSync(file).mtime;
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const json = /Hyperion activated (\{.*\})\s*$/.exec(line);
      const plain = /Hyperion activated in (\d+(?:\.\d+)?) ?ms/.exec(line);
      if (json) {
        try {
          const data = JSON.parse(json[1]!) as { ms?: unknown; trusted?: unknown };
          if (typeof data.ms === 'number') {
            out.push({ file: name, mtime, line: line.trim(), activateMs: data.ms, ...(typeof data.trusted === 'boolean' ? { trusted: data.trusted } : {}) });
          }
        } catch {
          // a truncated log line: skip it
        }
      } else if (plain) {
        out.push({ file: name, mtime, line: line.trim(), activateMs: Number(plain[1]) });
      }
    }
  }
  return out;
}

/** "engine opened {"ms":N}" lines from the same logs: the lazy first load of the engine and sql.js. */
export function e2eEngineOpens(dir: string): number[] {
  if (!fs.existsSync(dir)) return [];
  const out: number[] = [];
  for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('Hyperion.log')).sort()) {
    for (const line of fs.readFileSync(path.join(dir, name), 'utf8').split('\n')) {
      const m = /engine opened (\{.*\})\s*$/.exec(line);
      if (!m) continue;
      try {
        const ms = (JSON.parse(m[1]!) as { ms?: unknown }).ms;
        if (typeof ms === 'number') out.push(ms);
      } catch {
        // skip
      }
    }
  }
  return out;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
