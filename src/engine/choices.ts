/**
 * The `backend` choices of the config and the CLI (no engine is loaded here: config parsing imports this).
 * 'onnxruntime' is the native ONNX Runtime engine; 'tensorflow' (tfjs-node-gpu or tfjs-node), 'wasm' and
 * 'cpu' run the towers on TensorFlow.js; 'auto' prefers onnxruntime, then tfjs-node-gpu, tfjs-node, wasm.
 */
export const BACKEND_CHOICES = ['auto', 'onnxruntime', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** The choices that name a TensorFlow.js backend (or let tfjs pick one). */
export type TfjsBackendChoice = Exclude<BackendChoice, 'onnxruntime'>;

export function isBackendChoice(value: string): value is BackendChoice {
  return (BACKEND_CHOICES as readonly string[]).includes(value);
}
