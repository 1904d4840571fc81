/**
 * One HParams session per run, as TensorBoard's HParams dashboard reads it (plugin "hparams"):
 * `_hparams_/experiment` (the hparam and metric columns), `_hparams_/session_start_info` (this run's values)
 * and `_hparams_/session_end_info` (its status). The metric values themselves are ordinary scalars in the same
 * run, looked up by tag. Each summary value carries its payload in `metadata.plugin_data.content` and, as
 * TensorBoard's own `hparams_pb` does, a null tensor (DT_FLOAT, shape [0]) so that it is a valid tensor summary.
 */
import {
  DT_FLOAT,
  HPARAM_DATA_TYPE,
  HParamsPluginDataType,
  SESSION_STATUS,
  type SummaryValueObject,
} from './event-schema.js';

export const HPARAMS_PLUGIN_NAME = 'hparams';
/** HParamsPluginData.version that TensorBoard accepts. */
export const HPARAMS_PLUGIN_DATA_VERSION = 0;
export const EXPERIMENT_TAG = '_hparams_/experiment';
export const SESSION_START_INFO_TAG = '_hparams_/session_start_info';
export const SESSION_END_INFO_TAG = '_hparams_/session_end_info';

export type HparamValue = number | string | boolean;

export interface HparamsSessionStart {
  /** Hparam name → value; use `configToHparams` to turn a config into these. */
  hparams: Record<string, HparamValue>;
  /** Scalar tags (in the same run) shown as the session's metrics. */
  metricTags: string[];
  /** Defaults to now. */
  startTimeSecs?: number;
}

export interface HparamsSessionEnd {
  status?: keyof typeof SESSION_STATUS;
  /** Defaults to now. */
  endTimeSecs?: number;
}

/**
 * Config values as hparams: numbers, strings and booleans as they are; null (Python's None) as the string
 * "None", which is how the seed's config prints it; arrays and objects as their JSON text (the dashboard only
 * holds scalars); undefined keys are left out.
 */
export function configToHparams(config: Record<string, unknown>): Record<string, HparamValue> {
  const out: Record<string, HparamValue> = {};
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined) continue;
    if (value === null) out[key] = 'None';
    else if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') out[key] = value;
    else out[key] = JSON.stringify(value);
  }
  return out;
}

const NULL_TENSOR = { dtype: DT_FLOAT, tensorShape: { dim: [{}] } }; // shape [0]: dim.size 0 is the proto3 default

function hparamsSummaryValue(tag: string, pluginData: Record<string, unknown>): SummaryValueObject {
  const content = HParamsPluginDataType.encode({ ...pluginData }).finish();
  return {
    tag,
    tensor: NULL_TENSOR,
    metadata: { pluginData: { pluginName: HPARAMS_PLUGIN_NAME, content } },
  };
}

function hparamType(value: HparamValue): number {
  if (typeof value === 'number') return HPARAM_DATA_TYPE.float64;
  if (typeof value === 'boolean') return HPARAM_DATA_TYPE.bool;
  return HPARAM_DATA_TYPE.string;
}

function protobufValue(value: HparamValue): Record<string, HparamValue> {
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  return { stringValue: value };
}

/** The experiment and session-start values, each to be written as its own event (as torch does). */
export function hparamsStartValues(start: HparamsSessionStart): [SummaryValueObject, SummaryValueObject] {
  const entries = Object.entries(start.hparams);
  // version 0 is the proto3 default and is therefore not on the wire, exactly as in TensorBoard's files.
  const experiment = hparamsSummaryValue(EXPERIMENT_TAG, {
    experiment: {
      hparamInfos: entries.map(([name, value]) => ({ name, type: hparamType(value) })),
      metricInfos: start.metricTags.map((tag) => ({ name: { tag } })),
    },
  });
  const sessionStart = hparamsSummaryValue(SESSION_START_INFO_TAG, {
    sessionStartInfo: {
      hparams: Object.fromEntries(entries.map(([name, value]) => [name, protobufValue(value)])),
      startTimeSecs: start.startTimeSecs ?? Date.now() / 1000,
    },
  });
  return [experiment, sessionStart];
}

export function hparamsEndValue(end: HparamsSessionEnd = {}): SummaryValueObject {
  return hparamsSummaryValue(SESSION_END_INFO_TAG, {
    sessionEndInfo: {
      status: SESSION_STATUS[end.status ?? 'success'],
      endTimeSecs: end.endTimeSecs ?? Date.now() / 1000,
    },
  });
}

/** Decoded HParamsPluginData, with google.protobuf.Value unwrapped to plain values. */
export interface DecodedHparamsData {
  version: number;
  experiment?: { hparamInfos: { name: string; type: number }[]; metricTags: string[] };
  sessionStartInfo?: { hparams: Record<string, HparamValue | null>; startTimeSecs: number };
  sessionEndInfo?: { status: number; endTimeSecs: number };
}

interface RawPluginData {
  version?: number;
  experiment?: { hparamInfos?: { name?: string; type?: number }[]; metricInfos?: { name?: { tag?: string } }[] };
  sessionStartInfo?: {
    hparams?: Record<string, { numberValue?: number; stringValue?: string; boolValue?: boolean }>;
    startTimeSecs?: number;
  };
  sessionEndInfo?: { status?: number; endTimeSecs?: number };
}

export function decodeHparamsPluginData(content: Uint8Array): DecodedHparamsData {
  const raw = HParamsPluginDataType.toObject(HParamsPluginDataType.decode(content), {
    longs: Number,
  }) as RawPluginData;
  const out: DecodedHparamsData = { version: raw.version ?? 0 };
  if (raw.experiment) {
    out.experiment = {
      hparamInfos: (raw.experiment.hparamInfos ?? []).map((h) => ({ name: h.name ?? '', type: h.type ?? 0 })),
      metricTags: (raw.experiment.metricInfos ?? []).map((m) => m.name?.tag ?? ''),
    };
  }
  if (raw.sessionStartInfo) {
    const hparams: Record<string, HparamValue | null> = {};
    for (const [name, v] of Object.entries(raw.sessionStartInfo.hparams ?? {})) {
      hparams[name] = v.numberValue ?? v.stringValue ?? v.boolValue ?? null;
    }
    out.sessionStartInfo = { hparams, startTimeSecs: raw.sessionStartInfo.startTimeSecs ?? 0 };
  }
  if (raw.sessionEndInfo) {
    out.sessionEndInfo = { status: raw.sessionEndInfo.status ?? 0, endTimeSecs: raw.sessionEndInfo.endTimeSecs ?? 0 };
  }
  return out;
}
