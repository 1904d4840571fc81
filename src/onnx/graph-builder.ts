import type protobuf from 'protobufjs';
import { ATTRIBUTE_TYPE, GraphProto, ModelProto, ONNX_FLOAT, ONNX_INT64, TensorProto } from './onnx-proto.js';

/**
 * A small builder for ONNX graphs written from TypeScript: the native engine's towers are built from the
 * loaded weights in memory (no Python, no exported files). Values are named strings, as in ONNX itself;
 * `op` returns the name of its output so graphs read like the tfjs code they mirror:
 *
 *     const h = g.op('MatMul', [x, w]);          // [N, in] × [in, out] → [N, out]
 *     const y = g.op('Add', [h, b]);
 */

/** A dimension: a fixed size, or a symbolic name (e.g. 'views') fixed when the session runs. */
export type Dim = number | string;

/** An attribute value: integers become INT/INTS, other numbers FLOAT; `float()`/`floats()` force floats. */
export type AttributeValue = number | readonly number[] | string | FloatAttribute | FloatsAttribute;
interface FloatAttribute {
  float: number;
}
interface FloatsAttribute {
  floats: readonly number[];
}

/** Forces a FLOAT attribute for an integral value (e.g. `alpha: float(1)`). */
export const float = (value: number): FloatAttribute => ({ float: value });
export const floats = (values: readonly number[]): FloatsAttribute => ({ floats: values });

/** ONNX Runtime's contrib operator domain (its fused CPU kernels); version 1 is the only one. */
const CONTRIB_DOMAIN = 'com.microsoft';

export type ElementType = 'float' | 'int64';
const ELEMENT_TYPE: Record<ElementType, number> = { float: ONNX_FLOAT, int64: ONNX_INT64 };

interface EncodedTensor {
  name: string;
  dims: number[];
  dataType: number;
  rawData: Uint8Array;
}

function bytesOf(data: Float32Array | BigInt64Array): Uint8Array {
  // ONNX raw_data is little-endian, as is every platform onnxruntime-node ships for.
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function valueInfo(name: string, type: ElementType, dims: readonly Dim[]) {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEMENT_TYPE[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, value: AttributeValue) {
  if (typeof value === 'string') return { name, type: ATTRIBUTE_TYPE.string, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') {
    return Number.isInteger(value) ? { name, type: ATTRIBUTE_TYPE.int, i: value } : { name, type: ATTRIBUTE_TYPE.float, f: value };
  }
  if ('float' in value) return { name, type: ATTRIBUTE_TYPE.float, f: value.float };
  if ('floats' in value) return { name, type: ATTRIBUTE_TYPE.floats, floats: [...value.floats] };
  const list = value as readonly number[];
  return list.every(Number.isInteger)
    ? { name, type: ATTRIBUTE_TYPE.ints, ints: [...list] }
    : { name, type: ATTRIBUTE_TYPE.floats, floats: [...list] };
}

export class OnnxGraph {
  private readonly nodes: object[] = [];
  private readonly initializers: EncodedTensor[] = [];
  private readonly inputs: object[] = [];
  private readonly outputs: object[] = [];
  private readonly names = new Set<string>();
  private counter = 0;
  /** Whether a node of ONNX Runtime's contrib domain (com.microsoft) is in the graph: its opset is then imported. */
  private usesContribDomain = false;

  constructor(readonly name: string) {}

  /** A fresh value name, readable in ONNX Runtime's error messages: `<hint>_<n>`. */
  fresh(hint: string): string {
    let name: string;
    do name = `${hint}_${this.counter++}`;
    while (this.names.has(name));
    return name; // claimed by whatever defines it
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`ONNX graph ${this.name}: value "${name}" is defined twice`);
    this.names.add(name);
    return name;
  }

  /** A graph input of the given element type and shape. */
  input(name: string, dims: readonly Dim[], type: ElementType = 'float'): string {
    this.inputs.push(valueInfo(this.claim(name), type, dims));
    return name;
  }

  /** Publishes `value` as graph output `name` (through an Identity when the names differ). */
  output(value: string, name: string, dims: readonly Dim[], type: ElementType = 'float'): void {
    if (value !== name) this.op('Identity', [value], {}, [name]);
    this.outputs.push(valueInfo(name, type, dims));
  }

  /** A named constant tensor (weights); the array is referenced, not copied, until `toBytes`. */
  initializer(name: string, data: Float32Array | BigInt64Array, dims: readonly number[]): string {
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== data.length) throw new Error(`ONNX initializer ${name}: ${data.length} values for shape [${dims.join(', ')}]`);
    this.initializers.push({
      name: this.claim(name),
      dims: [...dims],
      dataType: data instanceof Float32Array ? ONNX_FLOAT : ONNX_INT64,
      rawData: bytesOf(data),
    });
    return name;
  }

  /** An anonymous float constant. */
  constFloat(values: Float32Array | readonly number[], dims: readonly number[] = [values.length], hint = 'const'): string {
    return this.initializer(this.fresh(hint), values instanceof Float32Array ? values : Float32Array.from(values), dims);
  }

  /** An anonymous int64 constant (shapes, axes, indices). */
  constInt64(values: readonly number[], dims: readonly number[] = [values.length], hint = 'i64'): string {
    return this.initializer(this.fresh(hint), BigInt64Array.from(values.map((v) => BigInt(v))), dims);
  }

  /** One node; returns its single output's name (see `opMulti` for several). An empty input name is "absent". */
  op(opType: string, inputs: readonly string[], attributes: Record<string, AttributeValue> = {}, outputNames?: readonly string[]): string {
    return this.opMulti(opType, inputs, outputNames?.length ?? 1, attributes, outputNames)[0]!;
  }

  opMulti(
    opType: string,
    inputs: readonly string[],
    outputCount: number,
    attributes: Record<string, AttributeValue> = {},
    outputNames?: readonly string[],
  ): string[] {
    const outputs = (outputNames ?? Array.from({ length: outputCount }, () => this.fresh(opType.toLowerCase()))).map((n) => this.claim(n));
    this.nodes.push({
      input: [...inputs],
      output: outputs,
      opType,
      attribute: Object.entries(attributes).map(([k, v]) => attribute(k, v)),
    });
    // A copy: the node keeps its own list, so a caller shifting or splicing the result cannot rewire the graph.
    return [...outputs];
  }

  /**
   * One node of ONNX Runtime's own operator domain, com.microsoft (fused kernels such as Attention, which the
   * default domain lacks); returns its single output's name.
   */
  contribOp(opType: string, inputs: readonly string[], attributes: Record<string, AttributeValue> = {}): string {
    const output = this.opMulti(opType, inputs, 1, attributes)[0]!;
    (this.nodes[this.nodes.length - 1] as { domain?: string }).domain = CONTRIB_DOMAIN;
    this.usesContribDomain = true;
    return output;
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  /**
   * The ModelProto bytes (IR 8, default-domain opset 17: LayerNormalization is in it), in one buffer of exactly
   * their size. protobufjs grows its buffer by doubling, so encoding the weights through it would peak at
   * about three times their size (RN50's image tower: +290 MB for 146 MB); here only the small structure goes
   * through protobufjs and each initializer's bytes are copied once. Protobuf fields may come in any order,
   * so the graph is its encoded structure followed by its initializer fields.
   */
  toBytes(opset = 17): Uint8Array {
    const model = ModelProto.encode(
      ModelProto.create({
        irVersion: 8,
        producerName: 'tpt',
        opsetImport: [{ domain: '', version: opset }, ...(this.usesContribDomain ? [{ domain: CONTRIB_DOMAIN, version: 1 }] : [])],
      }),
    ).finish();
    const graph = GraphProto.encode(
      GraphProto.create({ name: this.name, node: this.nodes, input: this.inputs, output: this.outputs }),
    ).finish();
    const graphKey = fieldKey(ModelProto, 'graph');
    const initializerKey = fieldKey(GraphProto, 'initializer');
    const rawDataKey = fieldKey(TensorProto, 'rawData');
    const tensors = this.initializers.map((t) => {
      const head = TensorProto.encode(TensorProto.create({ name: t.name, dims: t.dims, dataType: t.dataType })).finish();
      return { head, raw: t.rawData, length: head.length + rawDataKey.length + varintLength(t.rawData.length) + t.rawData.length };
    });
    const graphLength = tensors.reduce((n, t) => n + initializerKey.length + varintLength(t.length) + t.length, graph.length);
    const total = model.length + graphKey.length + varintLength(graphLength) + graphLength;

    const out = new Uint8Array(total);
    let pos = 0;
    const put = (bytes: Uint8Array) => {
      out.set(bytes, pos);
      pos += bytes.length;
    };
    const putVarint = (value: number) => {
      pos = writeVarint(out, pos, value);
    };
    put(model);
    put(graphKey);
    putVarint(graphLength);
    put(graph);
    for (const t of tensors) {
      put(initializerKey);
      putVarint(t.length);
      put(t.head);
      put(rawDataKey);
      putVarint(t.raw.length);
      put(t.raw);
    }
    if (pos !== total) throw new Error(`ONNX graph ${this.name}: wrote ${pos} bytes of ${total}`);
    return out;
  }
}

/** The key of a length-delimited field (wire type 2): (field number << 3) | 2, as a varint. */
function fieldKey(type: protobuf.Type, field: string): Uint8Array {
  const id = type.fields[field]!.id;
  const key = new Uint8Array(varintLength(id * 8 + 2));
  writeVarint(key, 0, id * 8 + 2);
  return key;
}

function varintLength(value: number): number {
  let n = 1;
  for (let v = value; v >= 128; v = Math.floor(v / 128)) n++;
  return n;
}

/** Base-128 little-endian groups, high bit = more follow; arithmetic, not bit operators (lengths may pass 2³¹). */
function writeVarint(out: Uint8Array, pos: number, value: number): number {
  let v = value;
  while (v >= 128) {
    out[pos++] = (v % 128) | 128;
    v = Math.floor(v / 128);
  }
  out[pos++] = v;
  return pos;
}
