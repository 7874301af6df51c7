// Errors of the LoRA module: reading safetensors, adapter_config.json, the transformer's initializers and merging.
// The module's own code table (as media/ and schedulers/ keep theirs): the package loader (package.ts) turns each into
// a ModelInvalidError (wire code MODEL_INVALID) naming the package file, and a style built on demand that fails
// (style-sessions.ts) becomes an InferenceFailedError; no gRPC status is known here.
import { CodedError } from '../../../shared/errors.ts';

export const LoraErrorCode = {
  /** adapter_model.safetensors is cut short, its header is not the JSON the format defines, or a tensor is out of bounds. */
  SafetensorsMalformed: 'SAFETENSORS_MALFORMED',
  /** The safetensors header (or the file) is larger than the reader allows: refused before it is read. */
  SafetensorsTooLarge: 'SAFETENSORS_TOO_LARGE',
  /** A tensor's dtype is not one the merge takes (F32, F16, BF16). */
  SafetensorsDtype: 'SAFETENSORS_DTYPE',
  /** adapter_config.json or animate_style.json is missing, not JSON, or breaks a rule of the format. */
  ConfigInvalid: 'LORA_CONFIG_INVALID',
  /** transformer/parameter_map.json breaks its format or names an initializer the graph lacks. */
  ParameterMapInvalid: 'LORA_PARAMETER_MAP_INVALID',
  /** An adapter targets a module that has no matching initializer in the transformer. */
  TargetMissing: 'LORA_TARGET_MISSING',
  /** lora_A / lora_B shapes disagree with each other, with r, or with the initializer they update. */
  ShapeMismatch: 'LORA_SHAPE_MISMATCH',
  /** The transformer's model.onnx cannot be walked as a ModelProto, or a target's data is not inside it. */
  OnnxUnsupported: 'LORA_ONNX_UNSUPPORTED',
} as const;
export type LoraErrorCode = (typeof LoraErrorCode)[keyof typeof LoraErrorCode];

export class LoraError extends CodedError<LoraErrorCode> {
  /** The file at fault as the message names it (package-relative where the caller said so). */
  readonly file: string;
  constructor(code: LoraErrorCode, file: string, problem: string, options: { cause?: unknown } = {}) {
    super(code, `${file}: ${problem}`, options);
    this.file = file;
  }
}
