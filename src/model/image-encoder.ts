import * as tf from '@tensorflow/tfjs-core';

/** What the model needs from an image tower of any backbone (src/model/architectures.ts builds them). */
export interface ImageEncoder {
  readonly inputResolution: number;
  readonly outputDim: number;
  /** views: [N, S, S, 3] normalised NHWC → unnormalised image features [N, E]. Never differentiated. */
  encode(views: tf.Tensor4D): tf.Tensor2D;
  dispose(): void;
}

export interface ImageTowerOptions {
  /** Views per forward pass; bounds the activation memory (RN50 at 224 px: about 50 MB per view). */
  chunkSize?: number;
}

/**
 * Runs an image tower over views [N, S, S, 3] in chunks of at most `chunkSize` views, so activation memory is
 * bounded by one chunk: each chunk's activations are freed before the next starts; only its [size, E] output
 * survives. Checks the views' size first (both towers take a fixed resolution).
 */
export function encodeInChunks(
  views: tf.Tensor4D,
  inputResolution: number,
  chunkSize: number,
  forwardChunk: (chunk: tf.Tensor4D) => tf.Tensor2D,
): tf.Tensor2D {
  const [n, h, w, c] = views.shape;
  if (h !== inputResolution || w !== inputResolution || c !== 3) {
    throw new Error(`image tower expects [N, ${inputResolution}, ${inputResolution}, 3] views, got [${views.shape.join(', ')}]`);
  }
  if (n <= chunkSize) return forwardChunk(views);
  const parts: tf.Tensor2D[] = [];
  try {
    for (let start = 0; start < n; start += chunkSize) {
      const size = Math.min(chunkSize, n - start);
      parts.push(tf.tidy(() => forwardChunk(tf.slice(views, [start, 0, 0, 0], [size, h, w, c]))));
    }
    return tf.concat(parts, 0);
  } finally {
    for (const p of parts) p.dispose();
  }
}
