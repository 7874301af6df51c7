// `npm run animate -- --help`: the usage text, with each request flag's range and default read from the model the
// in-process daemon would use (--model, else ANIMATE_DEFAULT_MODEL, in --models-dir / ANIMATE_MODELS_DIR), so that
// the help says what tiny-world (or another package) accepts instead of generic words that go stale when a model
// changes. Without a readable package it falls back to the generic lines. No line is wider than HELP_WIDTH.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { VARIABLES } from '../../shared/config/index.ts';
import { temporalFactorOf, type ModelDefaults, type ModelLimits } from '../../shared/wire/model-limits.ts';
import { CLIP_FORMATS } from '../../shared/wire/formats.ts';
import { DEFAULT_STYLE_STRENGTH, MAX_STYLE_STRENGTH, MIN_STYLE_STRENGTH } from '../../shared/wire/styles.ts';
import { readModelPackage } from '../model/package.ts';
import { SCHEDULER_NAMES } from '../schedulers/index.ts';
import { wireModelDefaults, wireModelLimits } from '../server/validate.ts';
import { allowedExtensions } from './output-format.ts';

/** The widest help line, so that an 120-column terminal wraps nothing. */
export const HELP_WIDTH = 118;

/** The example every mention of the first command uses (README, errors): shared/wire/examples.ts, which bots/ shows too. */
import { EXAMPLE_PROMPT } from '../../shared/wire/examples.ts';
export { EXAMPLE_PROMPT };
export const EXAMPLE_OUT = 'out/heart.mp4';

export interface ModelFacts {
  name: string;
  limits: ModelLimits;
  defaults: ModelDefaults;
  /** The package's styles (loras/), as ListModels lists them; absent: not known. */
  styles?: ReadonlyArray<{ name: string; description: string; examplePrompt: string }>;
}

const defaultOf = (name: string) => VARIABLES.find((v) => v.name === name)?.default;

/** The package the in-process daemon would use by default, or undefined when none can be read. */
export async function localModelFacts(flags: { modelsDir?: string | undefined; model?: string | undefined }, env: NodeJS.ProcessEnv): Promise<ModelFacts | undefined> {
  const dir = path.resolve(flags.modelsDir || env.ANIMATE_MODELS_DIR || defaultOf('ANIMATE_MODELS_DIR') || 'models');
  const name = flags.model || env.ANIMATE_DEFAULT_MODEL || defaultOf('ANIMATE_DEFAULT_MODEL') || 'tiny-world';
  const packageDir = existsSync(path.join(dir, 'model_index.json')) ? dir : path.join(dir, name);
  try {
    // Limits and styles only: hashing every weight (gigabytes for a real model) would only make --help slow.
    const pkg = await readModelPackage(packageDir, { hash: false });
    return { name: pkg.name, limits: wireModelLimits(pkg), defaults: wireModelDefaults(pkg), styles: pkg.styles.map((s) => ({ name: s.name, description: s.description, examplePrompt: s.examplePrompt })) };
  } catch {
    return undefined;
  }
}

const range = (min: number, max: number) => `${min}–${max}`;

/** The request lines: with a model's facts, its ranges and defaults; without, what every model has in common. */
function requestLines(m: ModelFacts | undefined): string[] {
  const l = m?.limits;
  const d = m?.defaults;
  const tf = l ? temporalFactorOf(l) : undefined;
  return [
    m ? `Request (ranges and defaults of ${m.name}, the in-process daemon's model; another daemon checks its own):` : 'Request (ranges and defaults are the model\'s; the daemon names them when it refuses a value):',
    `  --negative TEXT      negative prompt${l ? ` (up to ${l.maxPromptChars} characters)` : ''}`,
    '  --seed N             seed, a whole number ≥ 0 (default: random; printed at the end)',
    `  --steps N            denoising steps${l && d ? `, ${range(l.minSteps, l.maxSteps)} (default ${d.steps})` : " (default: the model's)"}`,
    `  --guidance X         classifier-free guidance scale${l && d ? `, ${range(l.minGuidance, l.maxGuidance)} (default ${d.guidanceScale})` : ''}; 1 disables guidance`,
    `  --frames N           frame count${l && d ? `, ${range(l.minFrames, l.maxFrames)}, 1 + a multiple of ${tf} (default ${d.frames})` : ", 1 + a multiple of the model's temporal factor"}`,
    `  --width N --height N size in pixels${l && d ? `, ${range(l.minSide, l.maxSide)} in steps of ${l.sizeMultiple} (default ${d.width}x${d.height})` : ", multiples of the model's size grid"}`,
    `  --aspect W:H         instead of width/height: ${l?.aspects.length ? l.aspects.join(', ') : "one of the model's aspects"}`,
    `  --fps N              frames per second${l && d ? `, ${range(l.minFps, l.maxFps)} (default ${d.fps})` : ''}`,
    `  --scheduler NAME     ${SCHEDULER_NAMES.join(', ')} (default: ${d?.scheduler || "the model's"})`,
    "  --model NAME         model package (default: the daemon's default)",
    `  --style NAME         a style of the model (a LoRA adapter)${m?.styles ? (m.styles.length ? `: ${m.styles.map((s) => s.name).join(', ')} (below)` : `; ${m.name} has none`) : ''}`,
    `  --style-strength X   how strongly the style applies, ${range(MIN_STYLE_STRENGTH, MAX_STYLE_STRENGTH)} (default ${DEFAULT_STYLE_STRENGTH}; 0: the base model)`,
    '  --upscale N          integer display upscaling, 1–4 (nearest neighbour: 2 turns 128x128 into 256x256)',
    `  --format F           ${CLIP_FORMATS.join(', ')}; repeat for several (default: from --out's extension, else mp4)`,
  ];
}

/** Each style of the model with its description and an example command (none: nothing, --style says so). */
function styleLines(m: ModelFacts | undefined): string[] {
  if (!m?.styles?.length) return [];
  const lines = ['', `Styles of ${m.name}:`];
  for (const s of m.styles) {
    lines.push(`  ${s.name.padEnd(18)} ${s.description}`.trimEnd().slice(0, HELP_WIDTH));
    if (s.examplePrompt) lines.push(`  ${''.padEnd(18)} e.g. npm run animate -- "${s.examplePrompt}" --style ${s.name}`.slice(0, HELP_WIDTH));
  }
  return lines;
}

export function animateUsage(model: ModelFacts | undefined): string {
  return `Usage: npm run animate -- "<prompt>" [options]
       npm run animate -- --batch prompts.txt --out-dir clips/ [options]

Generates a short clip from a text prompt and writes it to a file, e.g.
  npm run animate -- "${EXAMPLE_PROMPT}" --out ${EXAMPLE_OUT}

${[...requestLines(model), ...styleLines(model)].join('\n')}

Output:
  --out FILE           where to write the clip (default: out/clip.<format>); its extension (${allowedExtensions()})
                       picks the format; missing folders are created
  --previews DIR       also write every preview image into DIR
  --batch FILE         one prompt per line (blank lines and # comments skipped); clips go to --out-dir
  --out-dir DIR        folder for batch clips (default: out/clips)
  --seeds LIST         comma-separated seeds: one clip per seed and prompt (A/B runs)

Daemon:
  --daemon HOST:PORT   use a running daemon (env ANIMATE_DAEMON_ADDRESS); default: start one in-process. Several
                       gateways: a:50051,b:50051 or dns:///gateways:50051 (calls spread over them)
  --token-file FILE    file holding the daemon's token (env ANIMATE_TOKEN_FILE, or ANIMATE_TOKEN); avoid
                       --token TOKEN, which every local user can read in the process list
  --tls                connect with TLS, verified against the system roots (env ANIMATE_TLS=true)
  --tls-ca FILE        connect with TLS, verified against this PEM CA (env ANIMATE_TLS_CA)
  --tls-client-cert FILE --tls-client-key FILE
                       client certificate for a daemon that requires mutual TLS (env ANIMATE_TLS_CLIENT_CERT/_KEY)
  --tls-server-name N  name the daemon's certificate carries, if not the --daemon host (env ANIMATE_TLS_SERVER_NAME)
  --models-dir DIR     in-process daemon: a model package, or a folder of them (env ANIMATE_MODELS_DIR)

  --quiet              no progress bar
  --version            print the version
  -h, --help           show this help

A negative number is a value (--guidance -3 is checked against the range); any other value that starts with "-"
goes after "=" (--negative=-text).
`;
}
