/**
 * Summary values as torch.utils.tensorboard builds them (torch/utils/tensorboard/summary.py), so that our
 * files read in TensorBoard exactly like the seed's.
 */
import { DT_STRING, type SummaryValueObject } from './event-schema.js';
import { encodePngRgb, type RgbImage } from './png.js';

/** torch's `add_scalar` (new_style=False): a plain float32 `simple_value`. */
export function scalarValue(tag: string, value: number): SummaryValueObject {
  return { tag, simpleValue: value };
}

/**
 * torch's `add_text`: tag `<tag>/text_summary`, plugin "text" with content TextPluginData(version=0) (which
 * serializes to zero bytes), and a DT_STRING tensor of shape [1] holding the UTF-8 text.
 */
export function textValue(tag: string, text: string): SummaryValueObject {
  return {
    tag: `${tag}/text_summary`,
    metadata: { pluginData: { pluginName: 'text', content: new Uint8Array(0) } },
    tensor: { dtype: DT_STRING, tensorShape: { dim: [{ size: 1 }] }, stringVal: [Buffer.from(text, 'utf8')] },
  };
}

/** A float image in [0, 1], channels first (CHW), like `TF.to_tensor(img)`; channels 1 or 3. */
export interface ChwFloatImage {
  channels: number;
  height: number;
  width: number;
  data: Float32Array;
}

function isRgbImage(image: RgbImage | ChwFloatImage): image is RgbImage {
  return image.data instanceof Uint8Array;
}

/**
 * torch's `add_image` conversion of a float CHW tensor: to HWC, times 255 in float32, clipped to [0, 255]
 * and truncated to uint8 (astype, not rounding). A single channel is repeated to RGB.
 */
export function chwFloatToRgb(image: ChwFloatImage): RgbImage {
  const { channels, height, width, data } = image;
  if ((channels !== 1 && channels !== 3) || data.length !== channels * height * width) {
    throw new Error(`chwFloatToRgb: expected 1 or 3 channels of ${height}x${width}, got ${data.length} values`);
  }
  const plane = height * width;
  const rgb = new Uint8Array(plane * 3);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      const v = Math.fround(Math.fround(data[(channels === 1 ? 0 : c) * plane + p] as number) * 255);
      rgb[p * 3 + c] = Number.isNaN(v) ? 0 : Math.trunc(Math.min(255, Math.max(0, v)));
    }
  }
  return { width, height, data: rgb };
}

/** torch's `add_image`: a PNG with height, width and colorspace 3 (RGB). */
export function imageValue(tag: string, image: RgbImage | ChwFloatImage): SummaryValueObject {
  const rgb = isRgbImage(image) ? image : chwFloatToRgb(image);
  return {
    tag,
    image: { height: rgb.height, width: rgb.width, colorspace: 3, encodedImageString: encodePngRgb(rgb) },
  };
}
