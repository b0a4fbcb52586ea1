import type { SqlParams, SqlValue } from './types';

/**
 * The journal file format. A 16-byte header names the snapshot generation the records
 * apply to; each record is one committed write transaction:
 *
 *   header: "HYPJ" | u32 format=1 | u32 generation | u32 crc32(first 12 bytes)
 *   record: "HYPR" | u32 payload length | u32 crc32(length bytes + payload) | payload (UTF-8 JSON)
 *
 * A record is valid only when its magic, length and checksum all match, so a crash in the
 * middle of an append leaves a tail that readers recognise as torn and stop at. Bytes that
 * changed after they were written (a bad disk, a stray editor) are told apart from a torn
 * tail: they are reported as damaged, and the intact records after them are still read.
 */

export interface CapturedStatement {
  sql: string;
  params?: SqlParams;
}

export const HEADER_BYTES = 16;
const RECORD_HEAD_BYTES = 12;
const HEADER_MAGIC = 0x4a505948; // "HYPJ" little-endian
const RECORD_MAGIC = 0x52505948; // "HYPR" little-endian
const FORMAT = 1;
/** A record larger than this is treated as corrupt rather than allocated. */
const MAX_RECORD_BYTES = 512 * 1024 * 1024;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE), in JS because zlib.crc32 is missing from older Electron hosts. */
export function crc32(buf: Uint8Array, start = 0, end = buf.length, previous = 0): number {
  let c = (previous ^ 0xffffffff) >>> 0;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function encodeHeader(generation: number): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  b.writeUInt32LE(HEADER_MAGIC, 0);
  b.writeUInt32LE(FORMAT, 4);
  b.writeUInt32LE(generation >>> 0, 8);
  b.writeUInt32LE(crc32(b, 0, 12), 12);
  return b;
}

/** The generation in a journal header, or undefined when the header is missing or damaged. */
export function decodeHeader(b: Uint8Array): number | undefined {
  if (b.length < HEADER_BYTES) return undefined;
  const buf = Buffer.from(b.buffer, b.byteOffset, HEADER_BYTES);
  if (buf.readUInt32LE(0) !== HEADER_MAGIC || buf.readUInt32LE(4) !== FORMAT) return undefined;
  if (buf.readUInt32LE(12) !== crc32(buf, 0, 12)) return undefined;
  return buf.readUInt32LE(8);
}

/**
 * True when a header that fails to decode is most likely `generation`'s header with one
 * field damaged: it differs from that header in at most 4 of its 16 bytes. A header of any
 * other generation differs in its generation field and, almost always, in all 4 checksum
 * bytes, so its records (already folded into the snapshot) are not replayed twice.
 */
export function damagedHeaderOf(b: Uint8Array, generation: number): boolean {
  if (b.length < HEADER_BYTES) return false;
  const want = encodeHeader(generation);
  let differ = 0;
  for (let i = 0; i < HEADER_BYTES; i++) if (b[i] !== want[i]) differ++;
  return differ <= 4;
}

type EncodedValue = string | number | null | boolean | { b: string } | { f: string };

function encodeValue(v: SqlValue | boolean | undefined): EncodedValue {
  if (v === undefined || v === null) return null;
  if (v instanceof Uint8Array) return { b: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  if (typeof v === 'number' && !Number.isFinite(v)) return { f: String(v) };
  return v;
}

function decodeValue(v: EncodedValue): SqlValue {
  if (v === null || typeof v === 'string' || typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if ('b' in v) return new Uint8Array(Buffer.from(v.b, 'base64'));
  return Number(v.f);
}

function encodeParams(p: SqlParams | undefined): unknown {
  if (p === undefined) return undefined;
  if (Array.isArray(p)) return p.map(encodeValue);
  const o: Record<string, EncodedValue> = {};
  for (const [k, v] of Object.entries(p)) o[k] = encodeValue(v);
  return o;
}

function decodeParams(p: unknown): SqlParams | undefined {
  if (p === undefined || p === null) return undefined;
  if (Array.isArray(p)) return p.map((v) => decodeValue(v as EncodedValue));
  const o: Record<string, SqlValue> = {};
  for (const [k, v] of Object.entries(p as Record<string, EncodedValue>)) o[k] = decodeValue(v);
  return o;
}

export function encodeRecord(statements: CapturedStatement[]): Buffer {
  const payload = Buffer.from(
    JSON.stringify(statements.map((s) => (s.params === undefined ? [s.sql] : [s.sql, encodeParams(s.params)]))),
    'utf8',
  );
  const out = Buffer.alloc(RECORD_HEAD_BYTES + payload.length);
  out.writeUInt32LE(RECORD_MAGIC, 0);
  out.writeUInt32LE(payload.length, 4);
  payload.copy(out, RECORD_HEAD_BYTES);
  out.writeUInt32LE(crc32(payload, 0, payload.length, crc32(out, 4, 8)), 8);
  return out;
}

export interface ScanResult {
  /** Intact records in order, including those found after a damaged span. */
  records: CapturedStatement[][];
  /** Bytes of `buf` up to the end of the last intact record; anything after is a torn tail. */
  validBytes: number;
  /** Offset in `buf` and checksum of the last intact record, to re-identify it later. */
  last?: RecordMark;
  /**
   * Spans of `buf` that are neither intact records nor a torn tail: bytes changed after
   * they were written. Empty for a clean journal and for one that only ends torn.
   */
  damaged: DamagedSpan[];
}

/** Where a record starts and its checksum: enough to tell it from any other record. */
export interface RecordMark {
  offset: number;
  crc: number;
}

export interface DamagedSpan {
  offset: number;
  length: number;
}

const RECORD_MAGIC_BYTES = Buffer.from('HYPR', 'latin1');

/** The record framed at `pos`, with its end, or undefined when it does not frame and checksum. */
function recordAt(b: Buffer, pos: number): { statements: CapturedStatement[]; end: number; crc: number } | undefined {
  if (pos + RECORD_HEAD_BYTES > b.length || b.readUInt32LE(pos) !== RECORD_MAGIC) return undefined;
  const len = b.readUInt32LE(pos + 4);
  if (len > MAX_RECORD_BYTES || pos + RECORD_HEAD_BYTES + len > b.length) return undefined;
  const start = pos + RECORD_HEAD_BYTES;
  const crc = b.readUInt32LE(pos + 8);
  if (crc !== crc32(b, start, start + len, crc32(b, pos + 4, pos + 8))) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(b.toString('utf8', start, start + len));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  const statements = parsed.map((entry) => {
    const [sql, params] = entry as [string, unknown];
    const decoded = decodeParams(params);
    return decoded === undefined ? { sql } : { sql, params: decoded };
  });
  return { statements, end: start + len, crc };
}

/** The offset of the next intact record after `from`, or undefined. */
function nextRecord(b: Buffer, from: number): number | undefined {
  for (let at = b.indexOf(RECORD_MAGIC_BYTES, from); at >= 0; at = b.indexOf(RECORD_MAGIC_BYTES, at + 1)) {
    if (recordAt(b, at)) return at;
  }
  return undefined;
}

/**
 * True when the bytes from `pos` to the end are what an interrupted append leaves: fewer
 * bytes than a record head, a head whose (intact) length runs past the end, or blocks the
 * file system allocated but never filled (zeros, which no head magic or JSON payload holds).
 * Anything else, such as a complete last record that fails its checksum, cannot come from a
 * crash (appends are fsynced before they are reported) and is damage.
 */
function isTornTail(b: Buffer, pos: number): boolean {
  if (b.length - pos < RECORD_HEAD_BYTES) return true;
  if (b.readUInt32LE(pos) === 0 || b.indexOf(0, pos + RECORD_HEAD_BYTES) >= 0) return true;
  if (b.readUInt32LE(pos) !== RECORD_MAGIC) return false;
  const len = b.readUInt32LE(pos + 4);
  const start = pos + RECORD_HEAD_BYTES;
  if (start + len <= b.length) return false;
  // A length field damaged to a larger value looks like a torn append; the checksum over
  // the bytes that are there, with their real length, tells the two apart.
  const realLen = Buffer.alloc(4);
  realLen.writeUInt32LE(b.length - start, 0);
  return b.readUInt32LE(pos + 8) !== crc32(b, start, b.length, crc32(realLen));
}

/**
 * Parses every record in `buf`. Reading stops quietly at a torn tail (see `isTornTail`);
 * any other bad span is reported in `damaged` and skipped, and the intact records after
 * it are still returned.
 */
export function scanRecords(buf: Uint8Array): ScanResult {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const records: CapturedStatement[][] = [];
  const damaged: DamagedSpan[] = [];
  let last: RecordMark | undefined;
  let validBytes = 0;
  let pos = 0;
  while (pos < b.length) {
    const rec = recordAt(b, pos);
    if (rec) {
      records.push(rec.statements);
      last = { offset: pos, crc: rec.crc };
      pos = validBytes = rec.end;
      continue;
    }
    const next = nextRecord(b, pos + 1);
    if (next === undefined) {
      if (!isTornTail(b, pos)) damaged.push({ offset: pos, length: b.length - pos });
      break;
    }
    damaged.push({ offset: pos, length: next - pos });
    pos = next;
  }
  return last ? { records, validBytes, last, damaged } : { records, validBytes, damaged };
}

/** The mark of a record encoded by `encodeRecord`, placed at `offset`. */
export function markOf(record: Uint8Array, offset: number): RecordMark {
  return { offset, crc: Buffer.from(record.buffer, record.byteOffset, record.byteLength).readUInt32LE(8) };
}

/** True when `head` (the first 12 bytes at mark.offset) is the record `mark` ending at `end`. */
export function headMatches(head: Uint8Array, mark: RecordMark, end: number): boolean {
  if (head.length < RECORD_HEAD_BYTES) return false;
  const b = Buffer.from(head.buffer, head.byteOffset, RECORD_HEAD_BYTES);
  return b.readUInt32LE(0) === RECORD_MAGIC && mark.offset + RECORD_HEAD_BYTES + b.readUInt32LE(4) === end && b.readUInt32LE(8) === mark.crc;
}
