import { describe, expect, it } from 'vitest';
import { OnnxGraph, float } from '../../src/onnx/graph-builder.js';
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
});
