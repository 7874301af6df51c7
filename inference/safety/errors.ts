// Errors of the output safety check's own set-up (inference/safety/): a classifier folder that cannot be used. They
// name the file and the field at fault; the package reader turns them into its ModelInvalidError, and the daemon's
// start-up reports the daemon-wide one under ANIMATE_SAFETY_MODEL_DIR. A withheld clip is not one of these: that is
// the job's outcome, OutputWithheldError (inference/errors.ts), which travels to the client.
import { CodedError, type CodedErrorOptions } from '../../shared/errors.ts';

export const SafetyErrorCode = {
  /** safety/config.json is missing, not JSON, or breaks a rule (its message names the field and what is allowed). */
  ConfigInvalid: 'SAFETY_CONFIG_INVALID',
  /** safety/model.onnx is missing, cannot be loaded, or its inputs/outputs do not match config.json. */
  ModelInvalid: 'SAFETY_MODEL_INVALID',
} as const;
export type SafetyErrorCode = (typeof SafetyErrorCode)[keyof typeof SafetyErrorCode];

export class SafetyError extends CodedError<SafetyErrorCode> {
  /** `file` is relative to the folder that holds the classifier (e.g. "safety/config.json"), for messages people read. */
  constructor(code: SafetyErrorCode, readonly file: string, readonly problem: string, options?: CodedErrorOptions) {
    super(code, `${file}: ${problem}`, options);
  }
}
