// `npm run animate -- "a pink heart grows in the sky" --out out/heart.mp4`: the command-line client for scripts and
// batch runs. Without --daemon it starts a daemon in-process on a free loopback port. Its parts: args.ts (flags,
// did-you-mean, negative numbers), animate-help.ts (--help with the model's ranges), output-format.ts (the format from
// --out's extension), reach.ts (an unreachable daemon in one line), cli-error.ts (what an error prints).
import os from 'node:os';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readSetting } from '../../shared/config/index.ts';
import { clientTransportFromEnv } from '../../shared/config/transport.ts';
import { CodedError } from '../../shared/errors.ts';
import { connectAnimator, type AnimatorConnection } from '../../shared/rpc/client.ts';
import type { GenerateRequest } from '../../shared/rpc/types.ts';
import { daemonAddressMessage, parseDaemonTarget } from '../../shared/wire/address.ts';
import { CLIP_FORMAT_TO_WIRE, clipFormatFromWire } from '../../shared/wire/formats.ts';
import { roundStyleStrength } from '../../shared/wire/styles.ts';
import { startDaemon, type RunningDaemon } from '../server/daemon.ts';
import { createLogger } from '../log.ts';
import { daemonOptionsFrom } from './daemon-options.ts';
import { decimalFlag as decimal, integerFlag as integer, seedListFlag } from './flags.ts';
import { ProgressBar } from './progress-bar.ts';
import { parseCli, type FlagSpecs } from './args.ts';
import { animateUsage, EXAMPLE_OUT, EXAMPLE_PROMPT, localModelFacts } from './animate-help.ts';
import { resolveOutputFormats, seedFileName } from './output-format.ts';
import { assertDaemonReachable } from './reach.ts';
import { errorLine } from './cli-error.ts';
import { versionLine } from './version.ts';

/** Where clips go without --out / --out-dir: a git-ignored folder (.gitignore: out/), never the repository root. */
const DEFAULT_OUT = (ext: string) => path.join('out', `clip.${ext}`);
const DEFAULT_OUT_DIR = path.join('out', 'clips');

/** What this command line refuses on its own: a --daemon that is not HOST:PORT, a finished job that sent no clip. */
class AnimateCliError extends CodedError<'INVALID_DAEMON_ADDRESS' | 'NO_CLIP'> {}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 48) || 'clip';
}

/** "64x64 (32x32 upscaled 2x)": the size of the file written, and the generated size when the encoder enlarged it. */
export function sizeText(clip: { width: number; height: number } | undefined, done: { width: number; height: number }): string {
  if (!clip || (clip.width === done.width && clip.height === done.height)) return `${done.width}x${done.height}`;
  const factor = clip.width / done.width;
  const how = Number.isInteger(factor) && clip.height === done.height * factor ? `upscaled ${factor}x` : 'resized by the encoder';
  return `${clip.width}x${clip.height} (${done.width}x${done.height} ${how})`;
}

async function generateOne(client: AnimatorConnection, request: GenerateRequest, out: { file: string; previews?: string | undefined; quiet: boolean }): Promise<string> {
  const bar = new ProgressBar(path.basename(out.file));
  // Per format (wire name): its bytes and the picture size the encoder reports in its chunks (the file's real size).
  const clips = new Map<string, { parts: Buffer[]; width: number; height: number }>();
  let previewCount = 0;
  let summary = '';
  for await (const e of client.generate(request)) {
    if (e.queued && !out.quiet) bar.update(0, 1, `queued #${e.queued.position} (~${Math.ceil(e.queued.etaSeconds)} s)`);
    if (e.progress && !out.quiet) bar.update(e.progress.step, e.progress.totalSteps, `${e.progress.stage} step ${e.progress.step}/${e.progress.totalSteps}`);
    if (e.preview && out.previews) {
      await mkdir(out.previews, { recursive: true });
      const ext = e.preview.mimeType === 'image/gif' ? 'gif' : 'webp';
      await writeFile(path.join(out.previews, `${path.parse(out.file).name}-step${String(e.preview.step).padStart(3, '0')}.${ext}`), e.preview.image);
      previewCount++;
    }
    if (e.clip) {
      const clip = clips.get(e.clip.format) ?? { parts: [], width: e.clip.width, height: e.clip.height };
      clip.parts.push(Buffer.from(e.clip.data));
      clips.set(e.clip.format, clip);
    }
    if (e.done) {
      const d = e.done;
      // The size is the file's (a GIF upscaled to 256 is 256x256), not only the size the model generated.
      const first = clips.values().next().value;
      summary = `seed ${d.seed}, ${d.steps} steps, ${sizeText(first, d)}, ${d.frames} frames @ ${d.fps} fps${d.style ? `, style ${d.style} at ${roundStyleStrength(d.styleStrength)}` : ''}, ${Math.round(d.timings?.totalMs ?? 0)} ms` +
        (d.unknownWords.length ? `; words the model does not know: ${d.unknownWords.join(', ')}` : '');
    }
  }
  // A stream that ended OK with no clip bytes wrote nothing: a success here would leave a script with no file and exit 0.
  if (![...clips.values()].some((c) => c.parts.some((p) => p.length > 0))) {
    throw new AnimateCliError('NO_CLIP', `the daemon finished the job${summary ? ` (${summary})` : ''} but sent no clip, so nothing was written to ${out.file}`);
  }
  const written: string[] = [];
  for (const [format, clip] of clips) {
    const ext = clipFormatFromWire(format) ?? format.toLowerCase();
    const file = clips.size === 1 ? out.file : out.file.replace(/\.[^./\\]+$/, '') + `.${ext}`;
    await mkdir(path.dirname(path.resolve(file)), { recursive: true });
    await writeFile(file, Buffer.concat(clip.parts));
    written.push(file);
  }
  if (!out.quiet) bar.finish(`→ ${written.join(', ')} (${summary}${previewCount ? `; ${previewCount} previews` : ''})`);
  else process.stdout.write(`${written.join(', ')}: ${summary}\n`);
  return summary;
}

/** Every TLS variable, the client's (ANIMATE_TLS, _CA, _CLIENT_CERT/_KEY, _SERVER_NAME) and the daemon's (_CERT, _KEY, _CLIENT_CA). */
const TLS_VARIABLES = new Set(['ANIMATE_TLS', 'ANIMATE_TLS_CA', 'ANIMATE_TLS_CLIENT_CERT', 'ANIMATE_TLS_CLIENT_KEY', 'ANIMATE_TLS_SERVER_NAME', 'ANIMATE_TLS_CERT', 'ANIMATE_TLS_KEY', 'ANIMATE_TLS_CLIENT_CA']);

/** The environment minus the TLS variables: the in-process daemon and its one client talk plaintext over loopback. */
function withoutTls(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !TLS_VARIABLES.has(k)));
}

/** The flags, once: parseCli checks every token against them (did-you-mean for the others). */
const FLAGS = {
  negative: { type: 'string' }, seed: { type: 'string' }, steps: { type: 'string' }, guidance: { type: 'string' },
  frames: { type: 'string' }, width: { type: 'string' }, height: { type: 'string' }, aspect: { type: 'string' },
  fps: { type: 'string' }, scheduler: { type: 'string' }, model: { type: 'string' }, upscale: { type: 'string' },
  style: { type: 'string' }, 'style-strength': { type: 'string' },
  format: { type: 'string', multiple: true }, out: { type: 'string' }, previews: { type: 'string' }, batch: { type: 'string' },
  'out-dir': { type: 'string' }, seeds: { type: 'string' }, daemon: { type: 'string' }, token: { type: 'string' },
  'token-file': { type: 'string' }, tls: { type: 'boolean' }, 'tls-ca': { type: 'string' }, 'tls-client-cert': { type: 'string' },
  'tls-client-key': { type: 'string' }, 'tls-server-name': { type: 'string' },
  'models-dir': { type: 'string' }, quiet: { type: 'boolean' }, version: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
} as const satisfies FlagSpecs;

async function main(): Promise<number> {
  const { values, positionals } = parseCli({ name: 'animate', help: 'npm run animate -- --help' }, process.argv.slice(2), FLAGS, true);
  if (values.version) {
    process.stdout.write(`${versionLine()}\n`);
    return 0;
  }
  const usage = async () => animateUsage(await localModelFacts({ modelsDir: values['models-dir'], model: values.model }, process.env));
  if (values.help) {
    process.stdout.write(await usage());
    return 0;
  }
  const prompts = values.batch
    ? (await readFile(values.batch, 'utf8')).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
    : [positionals.join(' ')];
  if (!prompts[0]) {
    process.stderr.write(`animate: give a prompt, e.g. npm run animate -- "${EXAMPLE_PROMPT}" --out ${EXAMPLE_OUT}\n\n${await usage()}`);
    return 2;
  }
  const formatNames = resolveOutputFormats(values.format, values.batch ? undefined : values.out);
  const seeds = values.seeds !== undefined ? seedListFlag('seeds', values.seeds) : [integer('seed', values.seed)];

  const base: GenerateRequest = {
    negativePrompt: values.negative ?? '',
    formats: formatNames.map((f) => CLIP_FORMAT_TO_WIRE[f]),
    requester: { userId: os.userInfo().username || 'cli', platform: 'CLI' },
    aspect: values.aspect ?? '',
    model: values.model ?? '',
    scheduler: values.scheduler ?? '',
    // The daemon checks the style against the model and the strength's range (and refuses a strength without a style).
    style: values.style ?? '',
  };
  const styleStrength = decimal('style-strength', values['style-strength']);
  if (styleStrength !== undefined) base.styleStrength = styleStrength;
  const optional: Array<[keyof GenerateRequest, number | undefined]> = [
    ['steps', integer('steps', values.steps)], ['guidanceScale', decimal('guidance', values.guidance)], ['frames', integer('frames', values.frames)],
    ['width', integer('width', values.width)], ['height', integer('height', values.height)], ['fps', integer('fps', values.fps)], ['upscale', integer('upscale', values.upscale)],
  ];
  for (const [key, value] of optional) if (value !== undefined) (base as Record<string, unknown>)[key] = value;

  let daemon: RunningDaemon | undefined;
  // --daemon keeps the same address-list rule as ANIMATE_DAEMON_ADDRESS (shared/wire/address.ts: HOST:PORT, a list of
  // them, or dns:///HOST:PORT), so a typo is named here rather than surfacing as an unreachable daemon.
  const daemonFlag = values.daemon === undefined ? undefined : parseDaemonTarget(values.daemon);
  if (daemonFlag && 'problem' in daemonFlag) throw new AnimateCliError('INVALID_DAEMON_ADDRESS', daemonAddressMessage('--daemon', values.daemon!, daemonFlag.problem));
  const address = values.daemon?.trim() || (readSetting(process.env, 'ANIMATE_DAEMON_ADDRESS') as string | undefined);
  const addressSource = values.daemon?.trim() ? '--daemon' : 'ANIMATE_DAEMON_ADDRESS';
  // Client TLS is read only for a daemon elsewhere: the in-process one is plaintext loopback, so a stale ANIMATE_TLS_CA
  // (or any client TLS setting) in the shell must not stop a local run. The token still applies to both.
  const transport = clientTransportFromEnv(address ? process.env : withoutTls(process.env), {
    token: values.token, tokenFile: values['token-file'],
    ...(address ? { tls: values.tls, tlsCa: values['tls-ca'], tlsClientCert: values['tls-client-cert'], tlsClientKey: values['tls-client-key'], tlsServerName: values['tls-server-name'] } : {}),
  });
  if (!address) {
    // The in-process daemon is reached over loopback by this process only: no TLS (its token, if any, still applies),
    // so its TLS variables are not even read: a stale ANIMATE_TLS_CERT must not stop a local run either.
    const options = daemonOptionsFrom({ 'models-dir': values['models-dir'] }, withoutTls(process.env));
    daemon = await startDaemon({ ...options, ...(transport.token ? { token: transport.token } : {}), listen: '127.0.0.1:0', logger: createLogger('warn') });
  }
  if (address) {
    // Once for the whole run: nothing listening is one line naming the address and its setting, not a gRPC text per prompt.
    try {
      await assertDaemonReachable(address, addressSource);
    } catch (err) {
      process.stderr.write(`animate: ${errorLine(err)}\n`);
      return 1;
    }
  }
  const client = connectAnimator(address ?? daemon!.address, { token: transport.token, tls: address ? transport.tls : undefined });
  let failures = 0;
  try {
    for (const [i, prompt] of prompts.entries()) {
      for (const seed of seeds) {
        const request: GenerateRequest = { ...base, prompt, ...(seed !== undefined ? { seed } : {}) };
        const ext = formatNames[0]!;
        const file = values.batch || prompts.length > 1
          ? path.join(values['out-dir'] ?? DEFAULT_OUT_DIR, `${String(i + 1).padStart(3, '0')}-${slug(prompt)}${seed !== undefined && seeds.length > 1 ? `-s${seed}` : ''}.${ext}`)
          : seeds.length > 1 ? seedFileName(values.out ?? DEFAULT_OUT(ext), seed!, ext) : values.out ?? DEFAULT_OUT(ext);
        try {
          await generateOne(client, request, { file, previews: values.previews, quiet: !!values.quiet });
        } catch (err) {
          failures++;
          // In a batch, one bad prompt must not lose the others.
          process.stderr.write(`animate: "${prompt}" failed: ${errorLine(err)}\n`);
        }
      }
    }
  } finally {
    client.close();
    await daemon?.close({ graceMs: 0 });
  }
  return failures ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`animate: ${errorLine(err)}\n`);
    process.exit(2);
  },
);
