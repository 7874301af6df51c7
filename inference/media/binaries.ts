/**
 * Finds the ffmpeg and ffprobe binaries this module runs, and checks ffmpeg can do what we need.
 *
 * Order, per binary: the environment variable (FFMPEG_PATH / FFPROBE_PATH) when set, which must then be right
 * (a wrong explicit path is an error, not a silent fallback); else the system binary on PATH when it is version 5 or
 * newer (distribution builds get security fixes; the npm ffmpeg is a 2018 build); else the npm packages
 * (@ffmpeg-installer/ffmpeg, @ffprobe-installer/ffprobe); else an older system binary as a last resort.
 * A candidate is skipped when it lacks an encoder or filter we use.
 *
 * The installers' postinstall only adds the execute bit; when npm did not run it (scripts blocked, or another
 * user installed), we add it when we may (we own the file or are root), and otherwise move on to the next candidate.
 */
import { execFile } from 'node:child_process';
import { constants as fsConstants, statSync } from 'node:fs';
import { access, chmod, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { FfmpegNotFoundError, FfmpegUnsuitableError, MediaError } from './errors.ts';

const execFileAsync = promisify(execFile);
const require = createRequire(import.meta.url);

export type BinarySource = 'env' | 'npm' | 'system';

/** Encoders every clip format needs; one of the WebP encoders suffices (see `webpEncoder`). */
export const REQUIRED_ENCODERS = ['libx264', 'gif'] as const;
export const WEBP_ENCODERS = ['libwebp_anim', 'libwebp'] as const;
/** Filters used by the encode graphs (even-size padding, nearest-neighbour upscaling, GIF palettes). */
export const REQUIRED_FILTERS = ['scale', 'pad', 'fillborders', 'split', 'palettegen', 'paletteuse'] as const;

export type WebpEncoder = (typeof WEBP_ENCODERS)[number];

export interface MediaBinaries {
  ffmpegPath: string;
  ffmpegSource: BinarySource;
  /** First line of `ffmpeg -version`. */
  ffmpegVersion: string;
  /** The release it reports ("5.1.8"), or its build id for a git snapshot ("N-47683-g0e8eb07980-static"). */
  ffmpegRelease: string;
  /** libwebp_anim (inter-frame, smaller files) when the build has it, else libwebp (one key frame per frame). */
  webpEncoder: WebpEncoder;
  ffprobePath: string;
  ffprobeSource: BinarySource;
  ffprobeVersion: string;
  ffprobeRelease: string;
  /** Why the npm binaries were used when they were: the system's were missing, older than 5 or unusable. */
  passedOver: string[];
}

export interface ResolveMediaBinariesOptions {
  /** Environment to read FFMPEG_PATH, FFPROBE_PATH and PATH from. Default: process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

interface Candidate {
  path: string;
  source: BinarySource;
}

interface Rejection {
  candidate: Candidate;
  reason: string;
}

interface Choice {
  candidate: Candidate;
  /** First line of `-version`. */
  version: string;
  /** Why a preferred candidate was passed over, if one was. */
  passedOver?: string;
}

interface FfmpegChoice extends Choice {
  webpEncoder: WebpEncoder;
}

type FfprobeChoice = Choice;

/** The system binary is preferred from this major version on. */
export const MIN_PREFERRED_SYSTEM_MAJOR = 5;

export interface FfmpegVersion {
  /** "5.1.8", "6.1", or a git snapshot's id ("N-47683-g0e8eb07980-static"). */
  release: string;
  /** The major version; undefined for a git snapshot, whose age the banner does not say. */
  major: number | undefined;
}

/**
 * Reads `ffmpeg -version` / `ffprobe -version`: "ffmpeg version 5.1.8-0+deb12u1 Copyright …" → 5.1.8 (major 5);
 * "ffmpeg version n6.1.1" → 6.1.1; "ffmpeg version N-47683-g0e8eb07980-static …" → a snapshot, major unknown.
 */
export function parseFfmpegVersion(banner: string): FfmpegVersion | undefined {
  const match = /^\s*ff(?:mpeg|probe) version (\S+)/m.exec(banner);
  if (match?.[1] === undefined) return undefined;
  const word = match[1];
  const numbered = /^n?(\d+)\.(\d+)(?:\.(\d+))?/.exec(word);
  if (numbered === null) return { release: word, major: undefined };
  return { release: numbered[0].replace(/^n/, ''), major: Number(numbered[1]) };
}

/** Resolves both binaries without touching global state; throws FfmpegNotFoundError / FfmpegUnsuitableError. */
export async function resolveMediaBinaries(options: ResolveMediaBinariesOptions = {}): Promise<MediaBinaries> {
  const env = options.env ?? process.env;
  const [ffmpegChoice, ffprobeChoice] = await Promise.all([resolveFfmpeg(env), resolveFfprobe(env)]);
  return {
    ffmpegPath: ffmpegChoice.candidate.path,
    ffmpegSource: ffmpegChoice.candidate.source,
    ffmpegVersion: ffmpegChoice.version,
    ffmpegRelease: releaseOf(ffmpegChoice.version),
    webpEncoder: ffmpegChoice.webpEncoder,
    ffprobePath: ffprobeChoice.candidate.path,
    ffprobeSource: ffprobeChoice.candidate.source,
    ffprobeVersion: ffprobeChoice.version,
    ffprobeRelease: releaseOf(ffprobeChoice.version),
    passedOver: [ffmpegChoice.passedOver, ffprobeChoice.passedOver].filter((why): why is string => why !== undefined),
  };
}

let active: Promise<MediaBinaries> | undefined;

export interface GetMediaBinariesOptions extends ResolveMediaBinariesOptions {
  /** Where the choice is said, once, when this call resolves it. Default: nowhere (the daemon says it in its log). */
  log?: (line: string) => void;
}

/**
 * The process-wide binaries: resolved once and shared by every run (run.ts). A failed resolution is not cached, so
 * fixing the installation needs no restart.
 */
export function getMediaBinaries(options: GetMediaBinariesOptions = {}): Promise<MediaBinaries> {
  if (active === undefined) {
    const log = options.log;
    const pending = resolveMediaBinaries(options).then((binaries) => {
      log?.(describeMediaBinaries(binaries));
      return binaries;
    });
    pending.catch(() => {
      if (active === pending) active = undefined;
    });
    active = pending;
  }
  return active;
}

/**
 * The choice in one short line, e.g. "ffmpeg 5.1.8 (system /usr/bin/ffmpeg), ffprobe 5.1.8 (system /usr/bin/ffprobe)"
 * or, for the npm builds, "ffmpeg N-47683-g0e8eb07980-static (npm @ffmpeg-installer/ffmpeg), … ; no ffmpeg on PATH".
 */
export function describeMediaBinaries(binaries: MediaBinaries): string {
  const where = (source: BinarySource, file: string, npmPackage: string) =>
    source === 'npm' ? `npm ${npmPackage}` : `${source === 'env' ? 'from env' : 'system'} ${file}`;
  const line =
    `ffmpeg ${binaries.ffmpegRelease} (${where(binaries.ffmpegSource, binaries.ffmpegPath, FFMPEG_NPM)}), ` +
    `ffprobe ${binaries.ffprobeRelease} (${where(binaries.ffprobeSource, binaries.ffprobePath, FFPROBE_NPM)})`;
  return binaries.passedOver.length > 0 ? `${line}; ${binaries.passedOver.join('; ')}` : line;
}

const FFMPEG_NPM = '@ffmpeg-installer/ffmpeg';
const FFPROBE_NPM = '@ffprobe-installer/ffprobe';

function releaseOf(versionLine: string): string {
  return parseFfmpegVersion(versionLine)?.release ?? versionLine;
}

const FFMPEG_HINT =
  'Install ffmpeg 5 or newer (e.g. `apt-get install ffmpeg`), set FFMPEG_PATH / FFPROBE_PATH to a build with ' +
  'libx264, libwebp and the palettegen filter, or reinstall the npm binaries (`npm ci`).';

interface BinarySpec<T extends Choice> {
  name: 'ffmpeg' | 'ffprobe';
  envVar: 'FFMPEG_PATH' | 'FFPROBE_PATH';
  npmPackage: string;
  inspect: (candidate: Candidate) => Promise<T | Rejection>;
}

/**
 * The variable's binary if set (it must work); else the one on PATH if it is 5 or newer; else the npm package's;
 * else an older one on PATH. Each candidate is run once (`-version` and, for ffmpeg, its encoders and filters).
 */
async function resolveBinary<T extends Choice>(spec: BinarySpec<T>, env: Readonly<Record<string, string | undefined>>): Promise<T> {
  const explicit = nonEmpty(env[spec.envVar]);
  if (explicit !== undefined) {
    const candidate: Candidate = { path: explicit, source: 'env' };
    await requireExistingFile(candidate.path, spec.envVar);
    const verdict = await spec.inspect(candidate);
    if ('reason' in verdict) {
      throw new FfmpegUnsuitableError(`${spec.envVar}=${explicit} cannot be used: ${verdict.reason}. ${FFMPEG_HINT}`);
    }
    return verdict;
  }

  const rejections: Rejection[] = [];
  const system = systemCandidate(spec.name, env);
  const systemVerdict = system === undefined ? undefined : await spec.inspect(system);
  let passedOver: string;
  if (systemVerdict === undefined) {
    passedOver = `no ${spec.name} on PATH`;
  } else if ('reason' in systemVerdict) {
    rejections.push(systemVerdict);
    passedOver = `system ${spec.name} unusable: ${systemVerdict.reason}`;
  } else {
    const version = parseFfmpegVersion(systemVerdict.version);
    if (version?.major !== undefined && version.major >= MIN_PREFERRED_SYSTEM_MAJOR) return systemVerdict;
    passedOver =
      version?.major === undefined
        ? `system ${spec.name} ${version?.release ?? '(unknown version)'} does not say its version`
        : `system ${spec.name} ${version.release} is older than ${MIN_PREFERRED_SYSTEM_MAJOR}`;
  }

  const npm = npmCandidate(spec.npmPackage);
  if (npm !== undefined) {
    const verdict = await spec.inspect(npm);
    if (!('reason' in verdict)) return { ...verdict, passedOver };
    rejections.push(verdict);
  }
  // Last resort: a usable system binary older than preferred beats none at all.
  if (systemVerdict !== undefined && !('reason' in systemVerdict)) return systemVerdict;
  throw noUsableBinary(spec.name, rejections);
}

const resolveFfmpeg = (env: Readonly<Record<string, string | undefined>>) =>
  resolveBinary<FfmpegChoice>({ name: 'ffmpeg', envVar: 'FFMPEG_PATH', npmPackage: FFMPEG_NPM, inspect: inspectFfmpeg }, env);
const resolveFfprobe = (env: Readonly<Record<string, string | undefined>>) =>
  resolveBinary<FfprobeChoice>({ name: 'ffprobe', envVar: 'FFPROBE_PATH', npmPackage: FFPROBE_NPM, inspect: inspectFfprobe }, env);

function noUsableBinary(name: string, rejections: Rejection[]): MediaError {
  if (rejections.length === 0) {
    return new FfmpegNotFoundError(`No ${name} binary found (npm package missing and none on PATH). ${FFMPEG_HINT}`);
  }
  const reasons = rejections.map((r) => `${r.candidate.path} (${r.candidate.source}): ${r.reason}`).join('; ');
  return new FfmpegUnsuitableError(`No usable ${name}: ${reasons}. ${FFMPEG_HINT}`);
}

async function inspectFfmpeg(candidate: Candidate): Promise<FfmpegChoice | Rejection> {
  if (candidate.source === 'npm') await restoreInstallerMode(candidate.path);
  const notRunnable = await ensureExecutable(candidate.path);
  if (notRunnable !== undefined) return { candidate, reason: notRunnable };
  try {
    const [version, encoders, filters] = await Promise.all([
      runForText(candidate.path, ['-hide_banner', '-version']),
      runForText(candidate.path, ['-hide_banner', '-encoders']),
      runForText(candidate.path, ['-hide_banner', '-filters']),
    ]);
    const encoderNames = listedNames(encoders);
    const filterNames = listedNames(filters);
    const missing = [
      ...REQUIRED_ENCODERS.filter((name) => !encoderNames.has(name)).map((name) => `encoder ${name}`),
      ...REQUIRED_FILTERS.filter((name) => !filterNames.has(name)).map((name) => `filter ${name}`),
    ];
    const webpEncoder = WEBP_ENCODERS.find((name) => encoderNames.has(name));
    if (webpEncoder === undefined) missing.push('encoder libwebp_anim or libwebp');
    if (missing.length > 0 || webpEncoder === undefined) {
      return { candidate, reason: `it lacks ${missing.join(', ')}` };
    }
    return { candidate, version: firstLine(version), webpEncoder };
  } catch (error) {
    return { candidate, reason: `running it failed (${describeExecError(error)})` };
  }
}

async function inspectFfprobe(candidate: Candidate): Promise<FfprobeChoice | Rejection> {
  if (candidate.source === 'npm') await restoreInstallerMode(candidate.path);
  const notRunnable = await ensureExecutable(candidate.path);
  if (notRunnable !== undefined) return { candidate, reason: notRunnable };
  try {
    const version = await runForText(candidate.path, ['-hide_banner', '-version']);
    if (!/ffprobe/i.test(version)) return { candidate, reason: 'it does not identify itself as ffprobe' };
    return { candidate, version: firstLine(version) };
  } catch (error) {
    return { candidate, reason: `running it failed (${describeExecError(error)})` };
  }
}

/**
 * The installers' postinstall makes their binary executable for everyone who can read it; npm 11 skipped that, so
 * users other than the installer's could not run it. Redo it when we may (owner or root); otherwise leave it.
 */
async function restoreInstallerMode(file: string): Promise<void> {
  try {
    const { mode } = await stat(file);
    const wanted = mode | ((mode & 0o444) >> 2);
    if (wanted !== mode) await chmod(file, wanted);
  } catch {
    // Best effort: ensureExecutable decides whether this user can still run it.
  }
}

/** Returns undefined when this user can execute `file`, else why not. */
async function ensureExecutable(file: string): Promise<string | undefined> {
  if (await canExecute(file)) return undefined;
  return `not executable by this user (run \`chmod +x ${file}\` as its owner)`;
}

async function canExecute(file: string): Promise<boolean> {
  try {
    await access(file, fsConstants.X_OK);
    const info = await stat(file);
    // Root passes X_OK when any execute bit is set, so also require the bit to be there at all.
    return info.isFile() && (info.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

async function requireExistingFile(file: string, variable: string): Promise<void> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new Error('not a regular file');
  } catch {
    throw new FfmpegNotFoundError(
      `${variable} is set to "${file}", but no file exists there. Point ${variable} at the binary or unset it ` +
        'to use the bundled npm binary.',
    );
  }
}

function npmCandidate(packageName: string): Candidate | undefined {
  try {
    // The installer packages compute the platform package's binary path when loaded (and throw when it is absent).
    const loaded = require(packageName) as { path?: unknown };
    return typeof loaded.path === 'string' ? { path: loaded.path, source: 'npm' } : undefined;
  } catch {
    return undefined;
  }
}

function systemCandidate(name: string, env: Readonly<Record<string, string | undefined>>): Candidate | undefined {
  const searchPath = env['PATH'] ?? '';
  const dirs = searchPath.split(path.delimiter).filter((dir) => dir.length > 0);
  // Report the first match; whether it is usable is decided by inspect*.
  for (const dir of dirs) {
    const full = path.join(dir, name);
    if (isNodeModulesBin(full)) continue;
    if (fileExistsSync(full)) return { path: full, source: 'system' };
  }
  return undefined;
}

function isNodeModulesBin(file: string): boolean {
  return file.split(path.sep).includes('node_modules');
}

function fileExistsSync(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

async function runForText(file: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(file, args, { timeout: 15_000, maxBuffer: 8 * 1024 * 1024 });
  return stdout;
}

/** Names from `ffmpeg -encoders` / `-filters` listings: a flags column, then the name. */
function listedNames(listing: string): Set<string> {
  const names = new Set<string>();
  for (const line of listing.split('\n')) {
    const match = /^\s*[A-Z.|]{3,6}\s+(\S+)\s/.exec(line);
    if (match?.[1] !== undefined) names.add(match[1]);
  }
  return names;
}

function firstLine(text: string): string {
  return text.split('\n')[0]?.trim() ?? '';
}

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value.trim().length > 0 ? value : undefined;
}

function describeExecError(error: unknown): string {
  if (error instanceof Error) {
    const stderr = (error as { stderr?: unknown }).stderr;
    const tail = typeof stderr === 'string' ? stderr.trim().split('\n').slice(-2).join(' ') : '';
    return tail.length > 0 ? `${error.message.split('\n')[0]}: ${tail}` : (error.message.split('\n')[0] ?? '');
  }
  return String(error);
}
