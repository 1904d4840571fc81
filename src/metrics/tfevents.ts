/**
 * TFRecord framing of TensorBoard event files (tensorflow `core/lib/io/record_writer.cc`):
 *
 *   uint64 LE  length of data
 *   uint32 LE  masked CRC-32C of those 8 length bytes
 *   bytes      data (one serialized `Event`)
 *   uint32 LE  masked CRC-32C of data
 *
 * The mask (`((crc >>> 15) | (crc << 17)) + 0xa282ead8`) exists because CRCs of data that itself contains CRCs
 * are weak; readers (TensorBoard, tf.data) check both CRCs.
 */
import crc32c from 'crc-32/crc32c.js';
import { TptError } from '../errors.js';

const MASK_DELTA = 0xa282ead8;
const HEADER_BYTES = 12; // length (8) + length CRC (4)
const FOOTER_BYTES = 4;

/** Plain CRC-32C (Castagnoli) of `bytes` as an unsigned 32-bit number; crc32c("123456789") = 0xE3069283. */
export function crc32cOf(bytes: Uint8Array): number {
  return crc32c.buf(bytes) >>> 0;
}

export function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32cOf(bytes);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

/** The whole on-disk record for `data`, so that a writer can put it on disk with a single write call. */
export function frameRecord(data: Uint8Array): Buffer {
  const record = Buffer.alloc(HEADER_BYTES + data.length + FOOTER_BYTES);
  record.writeBigUInt64LE(BigInt(data.length), 0);
  record.writeUInt32LE(maskedCrc32c(record.subarray(0, 8)), 8);
  record.set(data, HEADER_BYTES);
  record.writeUInt32LE(maskedCrc32c(data), HEADER_BYTES + data.length);
  return record;
}

export interface TruncatedTail {
  /** Byte offset where the incomplete record starts. */
  offset: number;
  /** Bytes present from that offset to the end of the file. */
  bytesPresent: number;
  /** Bytes the record would need (header + data + footer), when its header was complete. */
  bytesNeeded: number | null;
}

export interface ParsedRecords {
  records: Uint8Array[];
  /** An incomplete final record (a writer killed mid-write, or a file still being written), or null. */
  truncated: TruncatedTail | null;
}

/**
 * Splits a file's bytes into record payloads, checking both CRCs of every record.
 * A CRC mismatch is data loss and throws; an incomplete final record is reported and left out, as TensorBoard
 * does (it waits for the rest of a file that is still being written).
 */
export function parseRecords(bytes: Uint8Array, source = 'event file'): ParsedRecords {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: Uint8Array[] = [];
  let offset = 0;
  while (offset < view.length) {
    const remaining = view.length - offset;
    if (remaining < HEADER_BYTES) {
      return { records, truncated: { offset, bytesPresent: remaining, bytesNeeded: null } };
    }
    const lengthBytes = view.subarray(offset, offset + 8);
    if (view.readUInt32LE(offset + 8) !== maskedCrc32c(lengthBytes)) {
      throw corrupt(source, offset, 'the length CRC does not match');
    }
    const length = view.readBigUInt64LE(offset);
    const needed = BigInt(HEADER_BYTES + FOOTER_BYTES) + length;
    if (needed > BigInt(remaining)) {
      return { records, truncated: { offset, bytesPresent: remaining, bytesNeeded: Number(needed) } };
    }
    const dataStart = offset + HEADER_BYTES;
    const dataEnd = dataStart + Number(length);
    const data = view.subarray(dataStart, dataEnd);
    if (view.readUInt32LE(dataEnd) !== maskedCrc32c(data)) {
      throw corrupt(source, offset, 'the data CRC does not match');
    }
    records.push(new Uint8Array(data));
    offset = dataEnd + FOOTER_BYTES;
  }
  return { records, truncated: null };
}

function corrupt(source: string, offset: number, what: string): TptError {
  return new TptError('EVENTS_CORRUPT', `${source}: record at byte ${offset} is corrupt (${what}).`, {
    hint: 'The file was damaged after it was written; remove it or restore it from a copy.',
  });
}
