import fs from 'node:fs';

/**
 * Appends whole byte records to a file: one write call per record, and a record whose write fails part way
 * (ENOSPC, EDQUOT) is truncated off again before the error is passed on, so the file never ends in a torn
 * record. A kill can still cut a write short (Linux stops a write at a page boundary on SIGKILL): the resumed
 * run cuts that tail off (readJsonLines / repairTornLine / repairEventFile). `fs` is used through its module
 * object so tests can make its calls fail.
 */
export class RecordAppender {
  private fd: number | null;
  /** The file's length after the last whole record. */
  private size: number;

  constructor(readonly path: string) {
    this.fd = fs.openSync(path, 'a');
    this.size = fs.fstatSync(this.fd).size;
  }

  /** Bytes of whole records in the file. */
  get length(): number {
    return this.size;
  }

  get closed(): boolean {
    return this.fd === null;
  }

  append(bytes: Uint8Array): void {
    if (this.fd === null) throw new Error(`${this.path} is closed`);
    let written = 0;
    try {
      while (written < bytes.length) written += fs.writeSync(this.fd, bytes, written, bytes.length - written);
    } catch (error) {
      if (written > 0) {
        try {
          fs.ftruncateSync(this.fd, this.size);
        } catch {
          // the resumed run cuts the torn tail off instead
        }
      }
      throw error;
    }
    this.size += bytes.length;
  }

  /** Cuts the file back to `length` (a point `length` returned earlier); throws when the file system refuses. */
  truncate(length: number): void {
    if (this.fd === null || length >= this.size) return;
    fs.ftruncateSync(this.fd, length);
    this.size = length;
  }

  /** fsync: the records reach the disk (a full disk may only report itself here, e.g. on NFS). */
  sync(): void {
    if (this.fd !== null) fs.fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}
