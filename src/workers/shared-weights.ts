import type { HostTensor, StateDict } from '../weights/host-tensor.js';

/**
 * Decoded weights on SharedArrayBuffers: posted to worker threads, they are shared rather than copied, so
 * the checkpoint is read and decoded once per run and its host arrays exist once in memory, however many
 * workers build a model from them.
 */

/** A copy of the tensor whose values live on a SharedArrayBuffer. */
export function shareTensor(t: HostTensor): HostTensor {
  const source = t.data;
  const bytes = new Uint8Array(new SharedArrayBuffer(source.byteLength));
  bytes.set(new Uint8Array(source.buffer, source.byteOffset, source.byteLength));
  const Ctor = source.constructor as new (buffer: ArrayBufferLike) => HostTensor['data'];
  return { ...t, data: new Ctor(bytes.buffer) };
}

/** The state_dict with every array copied onto shared memory. */
export function shareStateDict(stateDict: StateDict): StateDict {
  return new Map([...stateDict].map(([name, t]) => [name, shareTensor(t)]));
}
