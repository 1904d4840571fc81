import { describe, expect, it } from 'vitest';
import { OnnxGraph, float } from '../../src/onnx/graph-builder.js';
import { ModelProto } from '../../src/onnx/onnx-proto.js';
import { createSession, loadOrt } from '../../src/onnx/runtime.js';

describe('OnnxGraph', () => {
  it('builds a MatMul + Add + Relu graph that onnxruntime-node runs, with a symbolic batch', async () => {
    const g = new OnnxGraph('smoke');
    const x = g.input('x', ['n', 3]);
    const w = g.initializer('w', Float32Array.from([1, 0, -1, 2, 0.5, 0, 0, 0, 3]), [3, 3]);
    const b = g.constFloat([0.5, -10, 1]);
    const h = g.op('Add', [g.op('MatMul', [x, w]), b]);
    const y = g.op('LeakyRelu', [h], { alpha: float(0.5) });
    g.output(y, 'y', ['n', 3]);
    const ort = await loadOrt();
    const session = await createSession(g.toBytes(), { threads: 1 });
    try {
      const input = Float32Array.from([1, 2, 3, -1, 0, 1]);
      const out = await session.run({ x: new ort.Tensor('float32', input, [2, 3]) });
      const got = Array.from(out.y!.data as Float32Array);
      // row 1: [1+4+0, 0+1+0, -1+0+9] + b = [5.5, -9, 9] → leaky: [5.5, -4.5, 9]
      // row 2: [-1+0+0, 0+0+0, 1+0+3] + b = [-0.5, -10, 5] → [-0.25, -5, 5]
      expect(got).toEqual([5.5, -4.5, 9, -0.25, -5, 5]);
      expect(out.y!.dims).toEqual([2, 3]);
    } finally {
      await session.release();
    }
  });

  it("returns a copy of a node's outputs: changing the list does not change the node", async () => {
    const g = new OnnxGraph('split');
    const x = g.input('x', [4]);
    const parts = g.opMulti('Split', [x, g.constInt64([1, 3])], 2, { axis: 0 });
    const rest = parts[1]!;
    parts.shift();
    g.output(rest, 'rest', [3]);
    const ort = await loadOrt();
    const session = await createSession(g.toBytes(), { threads: 1 });
    try {
      const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [4]) });
      expect(Array.from(out.rest!.data as Float32Array)).toEqual([2, 3, 4]);
    } finally {
      await session.release();
    }
  });

  it('refuses a value defined twice and an initializer of the wrong size', () => {
    const g = new OnnxGraph('bad');
    g.input('x', [1]);
    expect(() => g.input('x', [1])).toThrow(/defined twice/);
    expect(() => g.initializer('w', new Float32Array(3), [2, 2])).toThrow(/3 values for shape \[2, 2\]/);
  });

  it('writes the structure and every initializer exactly once (multi-byte lengths included), decodable by protobufjs and runnable', async () => {
    const g = new OnnxGraph('sizes');
    const x = g.input('x', ['n', 5000]);
    // 20,000 raw bytes: a 3-byte length varint; the second initializer a 1-byte one
    const big = Float32Array.from({ length: 5000 }, (_, i) => Math.sin(i));
    const w = g.initializer('w', big, [5000]);
    const i64 = g.constInt64([-1, 1]);
    const y = g.op('Reshape', [g.op('Mul', [x, w]), i64]);
    g.output(y, 'y', ['n', 1]);
    const bytes = g.toBytes();
    const decoded = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, bytes: Array }) as {
      irVersion: number;
      opsetImport: { version: number }[];
      graph: {
        name: string;
        node: { opType: string }[];
        initializer: { name: string; dims: number[]; dataType: number; rawData: number[] }[];
        input: unknown[];
        output: unknown[];
      };
    };
    expect(decoded.irVersion).toBe(8);
    expect(decoded.opsetImport[0]!.version).toBe(17);
    expect(decoded.graph.name).toBe('sizes');
    expect(decoded.graph.node.map((n) => n.opType)).toEqual(['Mul', 'Reshape', 'Identity']);
    expect(decoded.graph.input).toHaveLength(1);
    expect(decoded.graph.output).toHaveLength(1);
    const [wDecoded, shapeDecoded] = decoded.graph.initializer;
    expect([wDecoded!.name, wDecoded!.dims, wDecoded!.dataType]).toEqual(['w', [5000], 1]);
    expect(new Float32Array(Uint8Array.from(wDecoded!.rawData).buffer)).toEqual(big);
    expect([shapeDecoded!.dims, shapeDecoded!.dataType]).toEqual([[2], 7]);
    expect(new BigInt64Array(Uint8Array.from(shapeDecoded!.rawData).buffer)).toEqual(BigInt64Array.from([-1n, 1n]));

    const ort = await loadOrt();
    const session = await createSession(bytes, { threads: 1 });
    try {
      const input = new Float32Array(5000).fill(2);
      const out = await session.run({ x: new ort.Tensor('float32', input, [1, 5000]) });
      expect(out.y!.dims).toEqual([5000, 1]);
      expect((out.y!.data as Float32Array)[4999]).toBeCloseTo(2 * Math.sin(4999), 6);
    } finally {
      await session.release();
    }
  });
});
