import type { SqlParams, SqlValue } from './types';

/**
 * The journal file format. A 16-byte header names the snapshot generation the records
 * apply to; each record is one committed write transaction:
 *
 *   header: "HYPJ" | u32 format=1 | u32 generation | u32 crc32(first 12 bytes)
 *   record: "HYPR" | u32 payload length | u32 crc32(length bytes + payload) | payload (UTF-8 JSON)
 *
 * A record is valid only when its magic, length and checksum all match, so a crash in the
 * middle of an append leaves a tail that readers recognise as torn and stop at.
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
  /** Valid records in order. */
  records: CapturedStatement[][];
  /** Bytes of `buf` covered by valid records; anything after is torn or foreign. */
  validBytes: number;
  /** Offset in `buf` and checksum of the last valid record, to re-identify it later. */
  last?: RecordMark;
}

/** Where a record starts and its checksum: enough to tell it from any other record. */
export interface RecordMark {
  offset: number;
  crc: number;
}

/** Parses records from the start of `buf` up to the first incomplete or invalid one. */
export function scanRecords(buf: Uint8Array): ScanResult {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const records: CapturedStatement[][] = [];
  let last: RecordMark | undefined;
  let pos = 0;
  while (pos + RECORD_HEAD_BYTES <= b.length) {
    if (b.readUInt32LE(pos) !== RECORD_MAGIC) break;
    const len = b.readUInt32LE(pos + 4);
    if (len > MAX_RECORD_BYTES || pos + RECORD_HEAD_BYTES + len > b.length) break;
    const start = pos + RECORD_HEAD_BYTES;
    if (b.readUInt32LE(pos + 8) !== crc32(b, start, start + len, crc32(b, pos + 4, pos + 8))) break;
    let parsed: unknown;
    try {
      parsed = JSON.parse(b.toString('utf8', start, start + len));
    } catch {
      break;
    }
    if (!Array.isArray(parsed)) break;
    records.push(
      parsed.map((entry) => {
        const [sql, params] = entry as [string, unknown];
        const decoded = decodeParams(params);
        return decoded === undefined ? { sql } : { sql, params: decoded };
      }),
    );
    last = { offset: pos, crc: b.readUInt32LE(pos + 8) };
    pos = start + len;
  }
  return last ? { records, validBytes: pos, last } : { records, validBytes: pos };
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
