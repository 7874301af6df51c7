// Validation of scheduler/scheduler_config.json (diffusers format) into a small plan the schedulers are built from.
// Unknown keys are ignored (diffusers configs carry many that do not matter for flow sigmas, e.g. beta_start);
// keys that would change the maths in a way we do not implement are rejected by name.
import { z } from 'zod';
import {
  InvalidSchedulerValueError,
  UnknownSchedulerClassError,
  UnknownSolverError,
  UnsupportedSchedulerOptionError,
  type SchedulerConfigError,
} from './errors.ts';

export type SchedulerName = 'euler' | 'unipc' | 'dpm++';
export const SCHEDULER_NAMES: readonly SchedulerName[] = Object.freeze(['euler', 'unipc', 'dpm++'] as const);

export interface EulerPlan {
  readonly name: 'euler';
  readonly numTrainTimesteps: number;
  readonly shift: number;
}
export interface UniPcPlan {
  readonly name: 'unipc';
  readonly numTrainTimesteps: number;
  readonly shift: number;
  readonly solverOrder: number;
  readonly solverType: 'bh1' | 'bh2';
  /** Step indices whose corrector is skipped (diffusers `disable_corrector`). */
  readonly disableCorrector: readonly number[];
}
export interface DpmPlan {
  readonly name: 'dpm++';
  readonly numTrainTimesteps: number;
  readonly shift: number;
  readonly solverOrder: number;
  readonly solverType: 'midpoint' | 'heun';
  readonly lowerOrderFinal: boolean;
}
export type SchedulerPlan = EulerPlan | UniPcPlan | DpmPlan;

const CLASS_TO_NAME: Readonly<Record<string, SchedulerName>> = {
  FlowMatchEulerDiscreteScheduler: 'euler',
  UniPCMultistepScheduler: 'unipc',
  DPMSolverMultistepScheduler: 'dpm++',
};

const MAX_TRAIN_TIMESTEPS = 1 << 24; // float32-exact integers: the schedules multiply float32 sigmas by N

/** A key's schema plus the words used to tell the user what is allowed. */
interface KeySpec {
  readonly schema: z.ZodType;
  readonly allowed: string;
  /** Why other values are refused: set on keys whose other well-formed values ask for a feature we lack. */
  readonly unsupported?: { readonly why: string; readonly type: 'boolean' | 'string' };
}

const positiveNumber = (fallback: number): KeySpec => ({
  schema: z.number().positive().finite().default(fallback),
  allowed: `a positive finite number (default ${fallback})`,
});
const trainTimesteps: KeySpec = {
  schema: z.number().int().min(1).max(MAX_TRAIN_TIMESTEPS).default(1000),
  allowed: `an integer from 1 to ${MAX_TRAIN_TIMESTEPS} (default 1000)`,
};
const solverOrder: KeySpec = {
  schema: z.number().int().min(1).max(3).default(2),
  allowed: '1, 2 or 3 (default 2)',
};
/** Flags that must stay off: `null`, `false` or absent. */
const off = (why: string): KeySpec => ({
  schema: z.union([z.literal(false), z.null()]).optional(),
  allowed: 'false',
  unsupported: { why, type: 'boolean' },
});
const mustBe = <T extends string | boolean>(value: T, why: string, optional: boolean): KeySpec => ({
  schema: optional ? z.literal(value).optional() : z.literal(value),
  allowed: JSON.stringify(value),
  unsupported: { why, type: typeof value === 'boolean' ? 'boolean' : 'string' },
});

const NO_DYNAMIC = off('dynamic shifting needs a per-resolution mu; use a static shift instead');
const SIGMA_SPACINGS = {
  use_karras_sigmas: off('only the flow-matching sigma schedule is implemented'),
  use_exponential_sigmas: off('only the flow-matching sigma schedule is implemented'),
  use_beta_sigmas: off('only the flow-matching sigma schedule is implemented'),
  thresholding: off('dynamic thresholding is not implemented'),
  use_dynamic_shifting: NO_DYNAMIC,
};
const FLOW_COMMON = {
  num_train_timesteps: trainTimesteps,
  flow_shift: positiveNumber(1),
  use_flow_sigmas: mustBe(true, 'only flow-matching models are supported: set "use_flow_sigmas": true', false),
  prediction_type: mustBe('flow_prediction', 'the denoiser predicts flow velocity: set "prediction_type": "flow_prediction"', false),
  final_sigmas_type: mustBe('zero', 'sampling ends at sigma 0', true),
  solver_order: solverOrder,
  ...SIGMA_SPACINGS,
};

const SPECS: Readonly<Record<SchedulerName, Readonly<Record<string, KeySpec>>>> = {
  euler: {
    num_train_timesteps: trainTimesteps,
    shift: positiveNumber(1),
    shift_terminal: off('stretching the schedule to a terminal value is not implemented'),
    invert_sigmas: off('inverted sigmas are not implemented'),
    stochastic_sampling: off('stochastic sampling is not implemented'),
    ...SIGMA_SPACINGS,
  },
  unipc: {
    ...FLOW_COMMON,
    // diffusers silently maps the DPM/DEIS names to bh2, so they are accepted here too.
    solver_type: {
      schema: z.enum(['bh1', 'bh2', 'midpoint', 'heun', 'logrho']).default('bh2'),
      allowed: '"bh1" or "bh2" (default "bh2")',
    },
    predict_x0: mustBe(true, 'flow_prediction requires the data-prediction (x0) form', true),
    lower_order_final: mustBe(true, 'a higher-order final step to sigma 0 divides by zero in UniPC', true),
    disable_corrector: {
      schema: z.array(z.number().int().min(0)).default([]),
      allowed: 'an array of step indices (default [])',
    },
    solver_p: off('a custom predictor scheduler is not supported'),
  },
  'dpm++': {
    ...FLOW_COMMON,
    algorithm_type: mustBe('dpmsolver++', 'only the deterministic DPM-Solver++ is implemented', true),
    // diffusers maps logrho / bh1 / bh2 to midpoint for dpmsolver++.
    solver_type: {
      schema: z.enum(['midpoint', 'heun', 'logrho', 'bh1', 'bh2']).default('midpoint'),
      allowed: '"midpoint" or "heun" (default "midpoint")',
    },
    lower_order_final: { schema: z.boolean().default(true), allowed: 'true or false (default true)' },
    euler_at_final: { schema: z.boolean().default(false), allowed: 'true or false (default false)' },
    use_lu_lambdas: off('only the flow-matching sigma schedule is implemented'),
  },
};

function readClassName(json: unknown): SchedulerName {
  const record = asRecord(json);
  const cls = record['_class_name'];
  const known = Object.keys(CLASS_TO_NAME).join(', ');
  if (typeof cls !== 'string') {
    throw new UnknownSchedulerClassError(`scheduler_config.json: "_class_name" is missing; allowed: ${known}`, '_class_name');
  }
  const name = CLASS_TO_NAME[cls];
  if (!name) {
    throw new UnknownSchedulerClassError(`scheduler_config.json: "_class_name" is "${cls}", which is not supported; allowed: ${known}`, '_class_name');
  }
  return name;
}

function asRecord(json: unknown): Record<string, unknown> {
  const parsed = typeof json === 'string' ? parseText(json) : json;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidSchedulerValueError('scheduler_config.json must hold a JSON object with a "_class_name" key', undefined);
  }
  return parsed as Record<string, unknown>;
}

function parseText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidSchedulerValueError(`scheduler_config.json is not valid JSON: ${(err as Error).message}`, undefined);
  }
}

/** Validates every key the given scheduler cares about; returns the values with diffusers defaults filled in. */
function readKeys(name: SchedulerName, record: Record<string, unknown>): Record<string, unknown> {
  const specs = SPECS[name];
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const result = spec.schema.safeParse(record[key]);
    if (!result.success) throw keyError(key, record[key], spec);
    out[key] = result.data;
  }
  return out;
}

function keyError(key: string, value: unknown, spec: KeySpec): SchedulerConfigError {
  const shown = value === undefined ? 'missing' : JSON.stringify(value);
  const message = `scheduler_config.json: "${key}" is ${shown}; allowed: ${spec.allowed}`;
  const unsupported = spec.unsupported;
  if (!unsupported) return new InvalidSchedulerValueError(message, key);
  // Missing (the diffusers default) or well-typed but different: a feature we lack. Wrong type: a broken config.
  const Kind = value === undefined || typeof value === unsupported.type ? UnsupportedSchedulerOptionError : InvalidSchedulerValueError;
  return new Kind(`${message} (${unsupported.why})`, key);
}

/** The solver the config asks for. */
export function defaultSchedulerName(configJson: unknown): SchedulerName {
  return readClassName(configJson);
}

/** Full validation of the config; `override` swaps the solver but keeps the config's shift and num_train_timesteps. */
export function parseSchedulerConfig(configJson: unknown, override?: SchedulerName): SchedulerPlan {
  const configured = readClassName(configJson);
  const record = asRecord(configJson);
  const keys = readKeys(configured, record);
  const numTrainTimesteps = keys['num_train_timesteps'] as number;
  const shift = (configured === 'euler' ? keys['shift'] : keys['flow_shift']) as number;
  if (override !== undefined && !SCHEDULER_NAMES.includes(override)) {
    throw new UnknownSolverError(`scheduler "${String(override)}" is not known; allowed: ${SCHEDULER_NAMES.join(', ')}`, 'scheduler');
  }
  const name = override ?? configured;
  // Solver options only carry over when the solver is the configured one; otherwise the diffusers defaults apply.
  const own = name === configured ? keys : readKeys(name, { use_flow_sigmas: true, prediction_type: 'flow_prediction' });
  switch (name) {
    case 'euler':
      return { name, numTrainTimesteps, shift };
    case 'unipc':
      return {
        name,
        numTrainTimesteps,
        shift,
        solverOrder: own['solver_order'] as number,
        solverType: own['solver_type'] === 'bh1' ? 'bh1' : 'bh2',
        disableCorrector: own['disable_corrector'] as number[],
      };
    case 'dpm++':
      return {
        name,
        numTrainTimesteps,
        shift,
        solverOrder: own['solver_order'] as number,
        solverType: own['solver_type'] === 'heun' ? 'heun' : 'midpoint',
        lowerOrderFinal: own['lower_order_final'] as boolean,
      };
  }
}
