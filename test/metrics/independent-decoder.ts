/**
 * A TFRecord + protobuf wire decoder written for the tests only, independent of src/metrics: its own table
 * CRC-32C (not the crc-32 package) and a hand-rolled wire-format parser with TensorBoard's field numbers
 * (event.proto, summary.proto, tensor.proto, tensor_shape.proto, plugins/hparams/*.proto).
 */

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC32C_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function masked(crc: number): number {
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

/** Splits a whole file into records, asserting every CRC; throws on any defect (including truncation). */
export function splitRecords(file: Uint8Array): Uint8Array[] {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const out: Uint8Array[] = [];
  let off = 0;
  while (off < file.length) {
    const length = Number(view.getBigUint64(off, true));
    if (view.getUint32(off + 8, true) !== masked(crc32c(file.subarray(off, off + 8)))) throw new Error(`length CRC at ${off}`);
    const data = file.subarray(off + 12, off + 12 + length);
    if (data.length !== length) throw new Error(`truncated record at ${off}`);
    if (view.getUint32(off + 12 + length, true) !== masked(crc32c(data))) throw new Error(`data CRC at ${off}`);
    out.push(data);
    off += 16 + length;
  }
  return out;
}

/**
 * Splits a file into whole records and at most one torn tail: the bytes after the last whole record, which
 * must be a strict prefix of a record (fewer than 12 header bytes, or a valid length header whose data and
 * footer are cut short). Any CRC failure of a record that is present in full throws, and so does a torn
 * record followed by more bytes, since only the last record may be cut.
 */
export function splitRecordsWithTail(file: Uint8Array): { records: Uint8Array[]; tailOffset: number } {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const records: Uint8Array[] = [];
  let off = 0;
  while (off < file.length) {
    if (file.length - off < 12) return { records, tailOffset: off };
    const length = Number(view.getBigUint64(off, true));
    if (view.getUint32(off + 8, true) !== masked(crc32c(file.subarray(off, off + 8)))) throw new Error(`length CRC at ${off}`);
    if (file.length - off < 16 + length) return { records, tailOffset: off };
    const data = file.subarray(off + 12, off + 12 + length);
    if (view.getUint32(off + 12 + length, true) !== masked(crc32c(data))) throw new Error(`data CRC at ${off}`);
    records.push(data);
    off += 16 + length;
  }
  return { records, tailOffset: off };
}

type Field = { wire: 0; v: bigint } | { wire: 1; v: DataView } | { wire: 2; v: Uint8Array } | { wire: 5; v: DataView };

export function parseMessage(bytes: Uint8Array): Map<number, Field[]> {
  const fields = new Map<number, Field[]>();
  let off = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = bytes[off++];
      if (b === undefined) throw new Error('varint past end');
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (off < bytes.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const wire = key & 7;
    let field: Field;
    if (wire === 0) field = { wire, v: varint() };
    else if (wire === 1) {
      field = { wire, v: new DataView(bytes.buffer, bytes.byteOffset + off, 8) };
      off += 8;
    } else if (wire === 2) {
      const len = Number(varint());
      field = { wire, v: bytes.subarray(off, off + len) };
      off += len;
    } else if (wire === 5) {
      field = { wire, v: new DataView(bytes.buffer, bytes.byteOffset + off, 4) };
      off += 4;
    } else throw new Error(`wire type ${wire}`);
    const list = fields.get(no) ?? [];
    list.push(field);
    fields.set(no, list);
  }
  return fields;
}

const utf8 = new TextDecoder();
const last = (m: Map<number, Field[]>, no: number): Field | undefined => m.get(no)?.at(-1);
const bytesOf = (m: Map<number, Field[]>, no: number): Uint8Array | undefined => {
  const f = last(m, no);
  return f?.wire === 2 ? f.v : undefined;
};
const str = (m: Map<number, Field[]>, no: number): string | undefined => {
  const b = bytesOf(m, no);
  return b === undefined ? undefined : utf8.decode(b);
};
const int = (m: Map<number, Field[]>, no: number): number | undefined => {
  const f = last(m, no);
  return f?.wire === 0 ? Number(BigInt.asIntN(64, f.v)) : undefined;
};
const double = (m: Map<number, Field[]>, no: number): number | undefined => {
  const f = last(m, no);
  return f?.wire === 1 ? f.v.getFloat64(0, true) : undefined;
};

export interface IndependentValue {
  tag: string;
  simpleValue?: number;
  image?: { height: number; width: number; colorspace: number; png: Uint8Array };
  tensor?: { dtype: number; dims: number[]; strings: string[]; floats: number[] };
  pluginName?: string;
  content?: Uint8Array;
}

export interface IndependentEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  values: IndependentValue[];
}

function decodeValue(bytes: Uint8Array): IndependentValue {
  const m = parseMessage(bytes);
  const out: IndependentValue = { tag: str(m, 1) ?? '' };
  const simple = last(m, 2);
  if (simple?.wire === 5) out.simpleValue = simple.v.getFloat32(0, true);
  const image = bytesOf(m, 4);
  if (image) {
    const im = parseMessage(image);
    out.image = { height: int(im, 1) ?? 0, width: int(im, 2) ?? 0, colorspace: int(im, 3) ?? 0, png: bytesOf(im, 4) ?? new Uint8Array() };
  }
  const tensor = bytesOf(m, 8);
  if (tensor) {
    const t = parseMessage(tensor);
    const shape = parseMessage(bytesOf(t, 2) ?? new Uint8Array());
    const dims = (shape.get(2) ?? []).map((d) => (d.wire === 2 ? int(parseMessage(d.v), 1) ?? 0 : NaN));
    const floats: number[] = [];
    for (const f of t.get(5) ?? []) {
      if (f.wire === 5) floats.push(f.v.getFloat32(0, true));
      else if (f.wire === 2) for (let k = 0; k < f.v.length; k += 4) floats.push(new DataView(f.v.buffer, f.v.byteOffset + k, 4).getFloat32(0, true));
    }
    const strings = (t.get(8) ?? []).map((f) => (f.wire === 2 ? utf8.decode(f.v) : ''));
    out.tensor = { dtype: int(t, 1) ?? 0, dims, strings, floats };
  }
  const metadata = bytesOf(m, 9);
  if (metadata) {
    const plugin = parseMessage(bytesOf(parseMessage(metadata), 1) ?? new Uint8Array());
    out.pluginName = str(plugin, 1) ?? '';
    out.content = bytesOf(plugin, 2) ?? new Uint8Array();
  }
  return out;
}

export function decodeEventIndependent(bytes: Uint8Array): IndependentEvent {
  const m = parseMessage(bytes);
  const event: IndependentEvent = { wallTime: double(m, 1) ?? 0, step: int(m, 2) ?? 0, values: [] };
  const fileVersion = str(m, 3);
  if (fileVersion !== undefined) event.fileVersion = fileVersion;
  const summary = bytesOf(m, 5);
  if (summary) event.values = (parseMessage(summary).get(1) ?? []).map((f) => decodeValue(f.wire === 2 ? f.v : new Uint8Array()));
  return event;
}

export function decodeFileIndependent(file: Uint8Array): IndependentEvent[] {
  return splitRecords(file).map(decodeEventIndependent);
}

/** HParamsPluginData (plugin_data.proto) with api.proto's Experiment and struct.proto's Value. */
export function decodeHparamsIndependent(content: Uint8Array): {
  version: number;
  experiment?: { hparams: { name: string; type: number }[]; metrics: string[] };
  start?: { hparams: Record<string, number | string | boolean>; startTimeSecs: number };
  end?: { status: number; endTimeSecs: number };
} {
  const m = parseMessage(content);
  const out: ReturnType<typeof decodeHparamsIndependent> = { version: int(m, 1) ?? 0 };
  const exp = bytesOf(m, 2);
  if (exp) {
    const e = parseMessage(exp);
    out.experiment = {
      hparams: (e.get(4) ?? []).map((f) => {
        const h = parseMessage(f.wire === 2 ? f.v : new Uint8Array());
        return { name: str(h, 1) ?? '', type: int(h, 4) ?? 0 };
      }),
      metrics: (e.get(5) ?? []).map((f) => {
        const mi = parseMessage(f.wire === 2 ? f.v : new Uint8Array());
        return str(parseMessage(bytesOf(mi, 1) ?? new Uint8Array()), 2) ?? '';
      }),
    };
  }
  const start = bytesOf(m, 3);
  if (start) {
    const s = parseMessage(start);
    const hparams: Record<string, number | string | boolean> = {};
    for (const f of s.get(1) ?? []) {
      // map entries: key=1, value=2
      const entry = parseMessage(f.wire === 2 ? f.v : new Uint8Array());
      const v = parseMessage(bytesOf(entry, 2) ?? new Uint8Array());
      const key = str(entry, 1) ?? '';
      if (double(v, 2) !== undefined) hparams[key] = double(v, 2) as number;
      else if (str(v, 3) !== undefined) hparams[key] = str(v, 3) as string;
      else if (int(v, 4) !== undefined) hparams[key] = int(v, 4) === 1;
    }
    out.start = { hparams, startTimeSecs: double(s, 5) ?? 0 };
  }
  const end = bytesOf(m, 4);
  if (end) {
    const e = parseMessage(end);
    out.end = { status: int(e, 1) ?? 0, endTimeSecs: double(e, 2) ?? 0 };
  }
  return out;
}
