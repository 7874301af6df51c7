// `npm run animate -- "a red ball bounces" --out clip.mp4`: the command-line client for scripts and batch runs.
// Without --daemon it starts a daemon in-process on a free loopback port.
import os from 'node:os';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readSetting } from '../../shared/config/index.ts';
import { clientTransportFromEnv } from '../../shared/config/transport.ts';
import { CodedError } from '../../shared/errors.ts';
import { connectAnimator, isServiceError, type AnimatorConnection } from '../../shared/rpc/client.ts';
import type { GenerateRequest } from '../../shared/rpc/types.ts';
import { daemonAddressMessage, parseDaemonTarget } from '../../shared/wire/address.ts';
import { CLIP_FORMATS, CLIP_FORMAT_TO_WIRE, type ClipFormat } from '../../shared/wire/formats.ts';
import { startDaemon, type RunningDaemon } from '../server/daemon.ts';
import { createLogger } from '../log.ts';
import { daemonOptionsFrom } from './daemon-options.ts';
import { decimalFlag as decimal, integerFlag as integer } from './flags.ts';
import { ProgressBar } from './progress-bar.ts';

const USAGE = `Usage: npm run animate -- "<prompt>" [options]
       npm run animate -- --batch prompts.txt --out-dir clips/ [options]

Generates a short clip from a text prompt and writes it to a file.

Request:
  --negative TEXT      negative prompt
  --seed N             seed (default: random; printed at the end)
  --steps N            denoising steps (default: the model's)
  --guidance X         classifier-free guidance scale (1 disables guidance)
  --frames N           frame count (1 + a multiple of the model's temporal factor)
  --width N --height N size in pixels (multiples of the model's size grid)
  --aspect W:H         1:1, 16:9, 9:16, 4:3 or 3:4 instead of width/height
  --fps N              frames per second
  --scheduler NAME     euler, unipc or dpm++ (default: the model's)
  --model NAME         model package (default: the daemon's default)
  --upscale N          integer display upscaling 1..4
  --format F           mp4, gif or webp; repeat for several (default: from --out's extension, else mp4)

Output:
  --out FILE           where to write the clip (default: clip.<format>)
  --previews DIR       also write every preview image into DIR
  --batch FILE         one prompt per line (blank lines and # comments skipped); clips go to --out-dir
  --out-dir DIR        folder for batch clips (default: clips)
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
  -h, --help           show this help
`;

/** What this command line refuses on its own: a --daemon that is not HOST:PORT, a finished job that sent no clip. */
class AnimateCliError extends CodedError<'INVALID_DAEMON_ADDRESS' | 'NO_CLIP'> {}

const isClipFormat = (name: string): name is ClipFormat => (CLIP_FORMATS as readonly string[]).includes(name);

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 48) || 'clip';
}

async function generateOne(client: AnimatorConnection, request: GenerateRequest, out: { file: string; previews?: string | undefined; quiet: boolean }): Promise<string> {
  const bar = new ProgressBar(path.basename(out.file));
  const chunks = new Map<string, Buffer[]>();
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
    if (e.clip) chunks.set(e.clip.format, [...(chunks.get(e.clip.format) ?? []), Buffer.from(e.clip.data)]);
    if (e.done) {
      const d = e.done;
      summary = `seed ${d.seed}, ${d.steps} steps, ${d.width}x${d.height}, ${d.frames} frames @ ${d.fps} fps, ${Math.round(d.timings?.totalMs ?? 0)} ms` +
        (d.unknownWords.length ? `; words the model does not know: ${d.unknownWords.join(', ')}` : '');
    }
  }
  // A stream that ended OK with no clip bytes wrote nothing: a success here would leave a script with no file and exit 0.
  if (![...chunks.values()].some((parts) => parts.some((p) => p.length > 0))) {
    throw new AnimateCliError('NO_CLIP', `the daemon finished the job${summary ? ` (${summary})` : ''} but sent no clip, so nothing was written to ${out.file}`);
  }
  const written: string[] = [];
  for (const [format, parts] of chunks) {
    const ext = format.toLowerCase();
    const file = chunks.size === 1 ? out.file : out.file.replace(/\.[^.]+$/, '') + `.${ext}`;
    await mkdir(path.dirname(path.resolve(file)), { recursive: true });
    await writeFile(file, Buffer.concat(parts));
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

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      negative: { type: 'string' }, seed: { type: 'string' }, steps: { type: 'string' }, guidance: { type: 'string' },
      frames: { type: 'string' }, width: { type: 'string' }, height: { type: 'string' }, aspect: { type: 'string' },
      fps: { type: 'string' }, scheduler: { type: 'string' }, model: { type: 'string' }, upscale: { type: 'string' },
      format: { type: 'string', multiple: true }, out: { type: 'string' }, previews: { type: 'string' }, batch: { type: 'string' },
      'out-dir': { type: 'string' }, seeds: { type: 'string' }, daemon: { type: 'string' }, token: { type: 'string' },
      'token-file': { type: 'string' }, tls: { type: 'boolean' }, 'tls-ca': { type: 'string' }, 'tls-client-cert': { type: 'string' },
      'tls-client-key': { type: 'string' }, 'tls-server-name': { type: 'string' },
      'models-dir': { type: 'string' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const prompts = values.batch
    ? (await readFile(values.batch, 'utf8')).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
    : [positionals.join(' ')];
  if (!prompts[0]) {
    process.stderr.write(`animate: give a prompt, e.g. npm run animate -- "a red ball bouncing at sunset" --out clip.mp4\n\n${USAGE}`);
    return 2;
  }
  const outExt = values.out ? path.extname(values.out).slice(1).toLowerCase() : '';
  const formatNames = values.format?.length ? values.format.map((f) => f.toLowerCase()) : [isClipFormat(outExt) ? outExt : 'mp4'];
  for (const f of formatNames) if (!isClipFormat(f)) throw new Error(`--format ${f} is not supported; allowed: ${CLIP_FORMATS.join(', ')}`);
  const seeds = values.seeds ? values.seeds.split(',').map((s) => integer('seeds', s.trim())!) : [integer('seed', values.seed)];

  const base: GenerateRequest = {
    negativePrompt: values.negative ?? '',
    formats: formatNames.map((f) => CLIP_FORMAT_TO_WIRE[f as ClipFormat]),
    requester: { userId: os.userInfo().username || 'cli', platform: 'CLI' },
    aspect: values.aspect ?? '',
    model: values.model ?? '',
    scheduler: values.scheduler ?? '',
  };
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
  const client = connectAnimator(address ?? daemon!.address, { token: transport.token, tls: address ? transport.tls : undefined });
  let failures = 0;
  try {
    for (const [i, prompt] of prompts.entries()) {
      for (const seed of seeds) {
        const request: GenerateRequest = { ...base, prompt, ...(seed !== undefined ? { seed } : {}) };
        const ext = formatNames[0]!;
        const file = values.batch || prompts.length > 1
          ? path.join(values['out-dir'] ?? 'clips', `${String(i + 1).padStart(3, '0')}-${slug(prompt)}${seed !== undefined && seeds.length > 1 ? `-s${seed}` : ''}.${ext}`)
          : seeds.length > 1 ? (values.out ?? `clip.${ext}`).replace(/(\.[^.]+)?$/, `-s${seed}.${ext}`) : values.out ?? `clip.${ext}`;
        try {
          await generateOne(client, request, { file, previews: values.previews, quiet: !!values.quiet });
        } catch (err) {
          failures++;
          // In a batch, one bad prompt must not lose the others.
          process.stderr.write(`animate: "${prompt}" failed: ${isServiceError(err) ? err.details : (err as Error).message}\n`);
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
  (err: Error) => {
    process.stderr.write(`animate: ${err.message}\n`);
    process.exit(2);
  },
);
