/**
 * The subset of TensorBoard's protobuf schema that `tpt` writes and reads, as a protobufjs JSON descriptor.
 * Field numbers come from tensorboard `compat/proto/{event,summary,tensor,tensor_shape,types}.proto` and
 * `plugins/hparams/{api,plugin_data}.proto`; the names are camelCase for TypeScript and never reach the wire.
 * Fields we neither write nor need to read (graph defs, histograms, audio, …) are left out: protobuf readers
 * skip unknown fields, so files from other writers still decode.
 */
import protobuf from 'protobufjs';

/** TensorFlow `DataType` values used here. */
export const DT_FLOAT = 1;
export const DT_STRING = 7;

/** hparams `DataType`: the type of an hparam's values. */
export const HPARAM_DATA_TYPE = { unset: 0, string: 1, bool: 2, float64: 3 } as const;

/** hparams `Status` of a finished session. */
export const SESSION_STATUS = { unknown: 0, success: 1, failure: 2, running: 3 } as const;

const descriptor = {
  nested: {
    tensorboard: {
      nested: {
        Event: {
          oneofs: { what: { oneof: ['fileVersion', 'summary'] } },
          fields: {
            wallTime: { type: 'double', id: 1 },
            step: { type: 'int64', id: 2 },
            fileVersion: { type: 'string', id: 3 },
            summary: { type: 'Summary', id: 5 },
          },
        },
        Summary: {
          fields: { value: { rule: 'repeated', type: 'SummaryValue', id: 1 } },
        },
        SummaryValue: {
          // A oneof member has presence: simple_value 0.0 must still be on the wire (TensorBoard dispatches on
          // HasField('simple_value')), while plain proto3 fields at their default are left out.
          oneofs: { value: { oneof: ['simpleValue', 'image', 'tensor'] } },
          fields: {
            tag: { type: 'string', id: 1 },
            simpleValue: { type: 'float', id: 2 },
            image: { type: 'SummaryImage', id: 4 },
            tensor: { type: 'TensorProto', id: 8 },
            metadata: { type: 'SummaryMetadata', id: 9 },
          },
        },
        SummaryImage: {
          fields: {
            height: { type: 'int32', id: 1 },
            width: { type: 'int32', id: 2 },
            colorspace: { type: 'int32', id: 3 },
            encodedImageString: { type: 'bytes', id: 4 },
          },
        },
        SummaryMetadata: {
          fields: { pluginData: { type: 'PluginData', id: 1 } },
        },
        PluginData: {
          fields: {
            pluginName: { type: 'string', id: 1 },
            content: { type: 'bytes', id: 2 },
          },
        },
        TensorProto: {
          fields: {
            dtype: { type: 'int32', id: 1 },
            tensorShape: { type: 'TensorShapeProto', id: 2 },
            floatVal: { rule: 'repeated', type: 'float', id: 5 },
            stringVal: { rule: 'repeated', type: 'bytes', id: 8 },
          },
        },
        TensorShapeProto: {
          fields: { dim: { rule: 'repeated', type: 'TensorShapeDim', id: 2 } },
        },
        TensorShapeDim: {
          fields: { size: { type: 'int64', id: 1 } },
        },
        // plugins/hparams/plugin_data.proto
        HParamsPluginData: {
          fields: {
            version: { type: 'int32', id: 1 },
            experiment: { type: 'Experiment', id: 2 },
            sessionStartInfo: { type: 'SessionStartInfo', id: 3 },
            sessionEndInfo: { type: 'SessionEndInfo', id: 4 },
          },
        },
        SessionStartInfo: {
          fields: {
            hparams: { keyType: 'string', type: 'google.protobuf.Value', id: 1 },
            groupName: { type: 'string', id: 4 },
            startTimeSecs: { type: 'double', id: 5 },
          },
        },
        SessionEndInfo: {
          fields: {
            status: { type: 'int32', id: 1 },
            endTimeSecs: { type: 'double', id: 2 },
          },
        },
        // plugins/hparams/api.proto
        Experiment: {
          fields: {
            hparamInfos: { rule: 'repeated', type: 'HParamInfo', id: 4 },
            metricInfos: { rule: 'repeated', type: 'MetricInfo', id: 5 },
          },
        },
        HParamInfo: {
          fields: {
            name: { type: 'string', id: 1 },
            type: { type: 'int32', id: 4 },
          },
        },
        MetricInfo: {
          fields: { name: { type: 'MetricName', id: 1 } },
        },
        MetricName: {
          fields: {
            group: { type: 'string', id: 1 },
            tag: { type: 'string', id: 2 },
          },
        },
      },
    },
    google: {
      nested: {
        protobuf: {
          nested: {
            // struct.proto's Value, without struct_value/list_value (hparams never hold them).
            Value: {
              oneofs: { kind: { oneof: ['nullValue', 'numberValue', 'stringValue', 'boolValue'] } },
              fields: {
                nullValue: { type: 'int32', id: 1 },
                numberValue: { type: 'double', id: 2 },
                stringValue: { type: 'string', id: 3 },
                boolValue: { type: 'bool', id: 4 },
              },
            },
          },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(descriptor);

export const EventType = root.lookupType('tensorboard.Event');
export const HParamsPluginDataType = root.lookupType('tensorboard.HParamsPluginData');

// Plain-object shapes of the messages above, as encoded (fields left out are proto3 defaults).
export interface TensorProtoObject {
  dtype: number;
  tensorShape?: { dim?: { size?: number }[] };
  floatVal?: number[];
  stringVal?: Uint8Array[];
}

export interface SummaryValueObject {
  tag: string;
  simpleValue?: number;
  image?: { height: number; width: number; colorspace: number; encodedImageString: Uint8Array };
  tensor?: TensorProtoObject;
  metadata?: { pluginData?: { pluginName?: string; content?: Uint8Array } };
}

export interface EventObject {
  wallTime: number;
  step?: number;
  fileVersion?: string;
  summary?: { value: SummaryValueObject[] };
}

export function encodeEvent(event: EventObject): Uint8Array {
  return EventType.encode(event).finish();
}

export function decodeEvent(bytes: Uint8Array): EventObject {
  const message = EventType.decode(bytes);
  return EventType.toObject(message, { longs: Number }) as EventObject;
}
