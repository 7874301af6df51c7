/**
 * The optional visible watermark on every final clip (issue #25), set by the operator and by nobody else:
 * ANIMATE_WATERMARK (a line of text) or ANIMATE_WATERMARK_IMAGE (a PNG, alpha kept), in ANIMATE_WATERMARK_CORNER at
 * ANIMATE_WATERMARK_OPACITY. Previews and Done.last_frame stay unmarked (the last frame seeds the next clip of an
 * Extend, which would otherwise carry the mark twice).
 *
 * Why it is built this way:
 * - Only operator configuration reaches the filter string, and even that indirectly: the text goes into a file that
 *   drawtext reads (`textfile=`, `expansion=none`, so neither filter syntax nor `%{…}` expansion applies to it); the
 *   PNG is read once at start-up, checked, kept in memory and written into each run's private temp folder as a second
 *   input. What is left in the graph is numbers we compute and two paths (the font, the text file), escaped for both
 *   levels of ffmpeg's filter syntax (escapeFilterValue).
 * - Settings are checked at start-up, naming the variable (resolveWatermark: readable file, PNG signature, size
 *   limits, one line of text, a font to draw it with), and verifyWatermark encodes a small clip with it, so a
 *   watermark ffmpeg cannot draw (no drawtext in the build, a font FreeType rejects, a PNG it cannot decode) stops
 *   the daemon's start instead of failing every job.
 * - Size and place follow the encoded picture: text at 7% of the shorter side (8..64 px); an image at its own size,
 *   shrunk (aspect kept) to fit a third of the width and height; a margin of 3% of the shorter side (at least 2 px).
 *   A long text is made smaller to fit the width (WATERMARK_TEXT_EM_ADVANCE). MP4 and WebP are marked after upscaling
 *   (crisp); GIF before its palette is made, at the source size with every size divided by the upscale, then
 *   enlarged with the frames (so the palette holds the mark's colours, and the mark is as big as on the MP4).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { readImageSize, sniffImageType } from '../../shared/wire/image-limits.ts';
import { WATERMARK_CORNERS, WATERMARK_DEFAULTS, type WatermarkCorner } from '../../shared/config/variables.ts';

// The corners and defaults are the settings table's (written once there, shown by --help).
export { WATERMARK_CORNERS, WATERMARK_DEFAULTS, type WatermarkCorner };

/** Longest watermark text, in characters: a mark, not a caption. */
export const WATERMARK_TEXT_MAX_CHARS = 100;
/** Largest watermark PNG file, and its largest side: it is kept in memory and drawn on every clip. */
export const WATERMARK_IMAGE_MAX_BYTES = 1024 * 1024;
export const WATERMARK_IMAGE_MAX_SIDE = 1024;

/**
 * Font files tried for text when ANIMATE_WATERMARK_FONT is unset and `fc-match sans-serif:style=Bold` finds none
 * (fontconfig missing): the usual places of DejaVu and Liberation on Debian/Ubuntu, Fedora, Alpine.
 */
export const FALLBACK_FONT_FILES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf',
  '/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf',
  '/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf',
  '/usr/share/fonts/TTF/DejaVuSans-Bold.ttf',
  '/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf',
  '/usr/share/fonts/liberation-sans/LiberationSans-Bold.ttf',
] as const;

interface WatermarkPlace {
  corner: WatermarkCorner;
  /** 0 (invisible) .. 1 (opaque). */
  opacity: number;
}

export type Watermark =
  | (WatermarkPlace & { kind: 'text'; text: string; fontFile: string })
  | (WatermarkPlace & { kind: 'image'; png: Buffer; width: number; height: number; source: string });

/** The watermark settings as the environment or flags give them (already parsed by the variables' zod rules). */
export interface WatermarkSettings {
  text?: string | undefined;
  imagePath?: string | undefined;
  fontPath?: string | undefined;
  corner?: WatermarkCorner | undefined;
  opacity?: number | undefined;
}

/** What each setting is called where it came from ("ANIMATE_WATERMARK", "--watermark"), for messages. */
export type WatermarkSources = Partial<Record<keyof WatermarkSettings, string>>;

const DEFAULT_SOURCES: Required<WatermarkSources> = {
  text: 'ANIMATE_WATERMARK',
  imagePath: 'ANIMATE_WATERMARK_IMAGE',
  fontPath: 'ANIMATE_WATERMARK_FONT',
  corner: 'ANIMATE_WATERMARK_CORNER',
  opacity: 'ANIMATE_WATERMARK_OPACITY',
};

export interface ResolveWatermarkOptions {
  /** Relative paths are taken from here. Default process.cwd(). */
  cwd?: string;
  /** Finds a font when none is configured; default: fc-match, then FALLBACK_FONT_FILES. Tests pass their own. */
  findFont?: () => string | undefined;
}

/**
 * The watermark the settings describe (undefined when neither text nor image is set), or the problems, each naming
 * its variable and saying what is allowed. Reads the PNG and checks the font file; runs nothing but fc-match.
 */
export function resolveWatermark(
  settings: WatermarkSettings,
  sources: WatermarkSources = {},
  options: ResolveWatermarkOptions = {},
): { value: Watermark | undefined; problems: string[] } {
  const name = { ...DEFAULT_SOURCES, ...sources };
  const cwd = options.cwd ?? process.cwd();
  const problems: string[] = [];
  const place: WatermarkPlace = { corner: settings.corner ?? WATERMARK_DEFAULTS.corner, opacity: settings.opacity ?? WATERMARK_DEFAULTS.opacity };
  if (!WATERMARK_CORNERS.includes(place.corner)) problems.push(`${name.corner}=${JSON.stringify(place.corner)} is not a corner; allowed: ${WATERMARK_CORNERS.join(', ')}`);
  if (!(place.opacity >= 0 && place.opacity <= 1)) problems.push(`${name.opacity}=${String(place.opacity)} is out of range; allowed: a number from 0 (invisible) to 1 (opaque)`);

  const { text, imagePath, fontPath } = settings;
  if (text !== undefined && imagePath !== undefined) {
    problems.push(`${name.text} and ${name.imagePath} are both set; set one of them (a text mark or an image mark)`);
    return { value: undefined, problems };
  }
  if (text === undefined && imagePath === undefined) {
    // Corner, opacity or font alone would be ignored in silence: say so instead.
    const stray = (['corner', 'opacity', 'fontPath'] as const).filter((k) => settings[k] !== undefined).map((k) => name[k]);
    if (stray.length > 0) problems.push(`${stray.join(', ')} ${stray.length > 1 ? 'are' : 'is'} set without ${name.text} or ${name.imagePath}; set one of those too, or unset ${stray.length > 1 ? 'them' : 'it'}`);
    return { value: undefined, problems };
  }
  if (imagePath !== undefined) {
    if (fontPath !== undefined) problems.push(`${name.fontPath} is set but ${name.imagePath} draws no text; unset it, or use ${name.text}`);
    const image = readWatermarkPng(imagePath, name.imagePath, cwd);
    if ('problem' in image) problems.push(image.problem);
    if (problems.length > 0 || 'problem' in image) return { value: undefined, problems };
    return { value: { kind: 'image', ...place, ...image }, problems };
  }

  const textProblem = checkWatermarkText(text!);
  if (textProblem !== undefined) problems.push(`${name.text}=${JSON.stringify(text!.length > 40 ? `${text!.slice(0, 40)}…` : text!)} ${textProblem}`);
  const font = fontPath !== undefined ? checkFontFile(fontPath, name.fontPath, cwd) : findConfiguredFont(options.findFont ?? findSystemFont, name);
  if ('problem' in font) problems.push(font.problem);
  if (problems.length > 0 || 'problem' in font) return { value: undefined, problems };
  return { value: { kind: 'text', ...place, text: text!.trim(), fontFile: font.file }, problems };
}

/** Why `text` cannot be a watermark, or undefined when it can. */
function checkWatermarkText(text: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed.length === 0) return 'is blank; allowed: one line of 1 to 100 characters';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(trimmed)) return `holds a control character (a newline, a tab, …); allowed: one line of 1 to ${WATERMARK_TEXT_MAX_CHARS} characters`;
  const chars = Array.from(trimmed).length;
  if (chars > WATERMARK_TEXT_MAX_CHARS) return `is ${chars} characters long; allowed: at most ${WATERMARK_TEXT_MAX_CHARS}`;
  return undefined;
}

function readWatermarkPng(file: string, variable: string, cwd: string): { png: Buffer; width: number; height: number; source: string } | { problem: string } {
  const full = path.resolve(cwd, file);
  const about = `${variable}=${file}`;
  let size: number;
  try {
    const stats = statSync(full);
    if (!stats.isFile()) return { problem: `${about} is not a file; allowed: a PNG file of at most ${WATERMARK_IMAGE_MAX_BYTES} bytes` };
    size = stats.size;
  } catch (err) {
    return { problem: `${about} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}); give a readable PNG file` };
  }
  if (size > WATERMARK_IMAGE_MAX_BYTES) return { problem: `${about} is too large: ${size} bytes; allowed: a PNG of at most ${WATERMARK_IMAGE_MAX_BYTES} bytes (1 MiB)` };
  let png: Buffer;
  try {
    png = readFileSync(full);
  } catch (err) {
    return { problem: `${about} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}); give a readable PNG file` };
  }
  if (sniffImageType(png) !== 'png') return { problem: `${about} is not a PNG (its first bytes are not the PNG signature); allowed: a PNG file` };
  const sides = readImageSize('png', png);
  if (typeof sides === 'string') return { problem: `${about} is not a readable PNG (${sides})` };
  if (sides.width < 1 || sides.height < 1 || sides.width > WATERMARK_IMAGE_MAX_SIDE || sides.height > WATERMARK_IMAGE_MAX_SIDE) {
    return { problem: `${about} is too large: ${sides.width}×${sides.height} pixels; allowed: at most ${WATERMARK_IMAGE_MAX_SIDE}×${WATERMARK_IMAGE_MAX_SIDE}` };
  }
  return { png, width: sides.width, height: sides.height, source: full };
}

/** TrueType, OpenType (CFF), Apple 'true' and collections: the font files FreeType opens that we accept. */
const FONT_MAGICS = [Buffer.from([0, 1, 0, 0]), Buffer.from('OTTO'), Buffer.from('true'), Buffer.from('ttcf')];

/** A font file's first 4 bytes (its magic), read alone: fonts run to tens of MB (CJK collections), and this runs at start. */
function fontHead(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(4);
    return head.subarray(0, readSync(fd, head, 0, 4, 0));
  } finally {
    closeSync(fd);
  }
}

function checkFontFile(file: string, variable: string, cwd: string): { file: string } | { problem: string } {
  const full = path.resolve(cwd, file);
  let head: Buffer;
  try {
    head = fontHead(full);
  } catch (err) {
    return { problem: `${variable}=${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}); give a readable .ttf or .otf file` };
  }
  if (!FONT_MAGICS.some((magic) => magic.equals(head))) return { problem: `${variable}=${file} is not a TrueType or OpenType font; allowed: a .ttf, .otf or .ttc file` };
  return { file: full };
}

function findConfiguredFont(find: () => string | undefined, name: Required<WatermarkSources>): { file: string } | { problem: string } {
  const found = find();
  if (found !== undefined) return { file: found };
  return {
    problem: `${name.text} needs a font to draw with and none was found (fc-match sans-serif, ${FALLBACK_FONT_FILES[0]}, …); set ${name.fontPath} to a .ttf or .otf file, or use ${name.imagePath} instead`,
  };
}

/** The system's bold sans-serif font file: fontconfig's choice, else the first of FALLBACK_FONT_FILES present. */
export function findSystemFont(): string | undefined {
  try {
    const file = execFileSync('fc-match', ['--format=%{file}', 'sans-serif:style=Bold'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (file.length > 0 && isReadableFont(file)) return file;
  } catch {
    // No fontconfig: try the usual paths.
  }
  return FALLBACK_FONT_FILES.find(isReadableFont);
}

function isReadableFont(file: string): boolean {
  try {
    const head = fontHead(file);
    return FONT_MAGICS.some((magic) => magic.equals(head));
  } catch {
    return false;
  }
}

/**
 * A value for a filter option, escaped for both levels of ffmpeg's filter syntax ("Notes on filtergraph escaping"):
 * once for the option list (where ':' separates options) and once for the graph (where ',' ';' '[' ']' separate
 * filters). Each level treats a backslash as "the next character is literal", so every character other than letters,
 * digits and `/._-` is backslash-escaped at each level: nothing in the value can end it.
 */
export function escapeFilterValue(value: string): string {
  const once = (s: string) => s.replace(/[^A-Za-z0-9/._-]/g, '\\$&');
  return once(once(value));
}

/** The temp-folder files a marked encode reads. */
export const WATERMARK_TEXT_FILE = 'watermark.txt';
export const WATERMARK_IMAGE_FILE = 'watermark.png';

/** Where the mark goes on a picture of `width` × `height`, in pixels. */
export function watermarkMargin(width: number, height: number): number {
  return Math.max(2, Math.round(Math.min(width, height) * 0.03));
}

/**
 * Average advance of a character in em for bold sans-serif faces (DejaVu Sans Bold ≈ 0.63, Liberation Sans Bold
 * ≈ 0.6): used to shrink a long text so it fits the width, since drawtext cannot. A wider font may still be clipped.
 */
export const WATERMARK_TEXT_EM_ADVANCE = 0.65;

/** Text size: 7% of the shorter side (8..64 px), smaller when the line would not fit between the margins (≥ 6 px). */
export function watermarkFontSize(width: number, height: number, text = ''): number {
  const preferred = Math.min(64, Math.max(8, Math.round(Math.min(width, height) * 0.07)));
  const chars = Math.max(1, Array.from(text).length);
  const fitting = Math.floor((width - 2 * watermarkMargin(width, height)) / (chars * WATERMARK_TEXT_EM_ADVANCE));
  return Math.max(6, Math.min(preferred, fitting));
}

/** The image's drawn size: its own, or shrunk (aspect kept, at least 1 px) to fit a third of the picture each way. */
export function watermarkImageSize(w: Extract<Watermark, { kind: 'image' }>, width: number, height: number): { width: number; height: number } {
  const scale = Math.min(1, Math.floor(width / 3) / w.width, Math.floor(height / 3) / w.height);
  return { width: Math.max(1, Math.floor(w.width * scale)), height: Math.max(1, Math.floor(w.height * scale)) };
}

/** x and y expressions for a box `bw` × `bh` (names of the filter's own variables) in `corner`, `m` px from the edges. */
function cornerXY(corner: WatermarkCorner, m: number, W: string, H: string, bw: string, bh: string): { x: string; y: string } {
  return {
    x: corner.endsWith('left') ? String(m) : `${W}-${bw}-${m}`,
    y: corner.startsWith('top') ? String(m) : `${H}-${bh}-${m}`,
  };
}

/** An opacity as ffmpeg reads it: a plain decimal, 4 places at most. */
function opacityText(opacity: number): string {
  return String(Number(opacity.toFixed(4)));
}

/** What a marked encode needs: the files to write into its temp folder, its extra inputs, and how to splice the graph. */
export interface WatermarkLayer {
  files: Array<{ name: string; data: string | Uint8Array }>;
  /** Inputs after the frames (the image: stream [1:v]). */
  inputArgs: string[];
  /** True when the graph has two inputs and must be passed as -filter_complex. */
  complex: boolean;
  /** The graph with the mark between `before` (filters on the frames) and `after` (the rest, maybe a labelled graph). */
  graph(before: readonly string[], after: string): string;
}

/**
 * The layer that draws `watermark` on the encoded picture of `width` × `height`, with its files in `dir`. When the
 * graph marks the frames before enlarging them by `enlarge` (GIF), every size is divided by it, so the mark ends up
 * the same size in every format. Pure: the same watermark, sizes and folder give the same strings whatever the request.
 */
export function watermarkLayer(watermark: Watermark, width: number, height: number, dir: string, enlarge = 1): WatermarkLayer {
  const shrink = (px: number) => Math.max(1, Math.round(px / enlarge));
  const m = shrink(watermarkMargin(width, height));
  const alpha = opacityText(watermark.opacity);
  if (watermark.kind === 'text') {
    const { x, y } = cornerXY(watermark.corner, m, 'w', 'h', 'tw', 'th');
    const drawtext =
      `drawtext=fontfile=${escapeFilterValue(watermark.fontFile)}:textfile=${escapeFilterValue(path.join(dir, WATERMARK_TEXT_FILE))}` +
      `:expansion=none:fontsize=${shrink(watermarkFontSize(width, height, watermark.text))}:fontcolor=white@${alpha}` +
      `:borderw=1:bordercolor=black@${alpha}:x=${x}:y=${y}`;
    return {
      files: [{ name: WATERMARK_TEXT_FILE, data: watermark.text }],
      inputArgs: [],
      complex: false,
      graph: (before, after) => joinChain([...before, drawtext], after),
    };
  }
  const full = watermarkImageSize(watermark, width, height);
  const size = { width: shrink(full.width), height: shrink(full.height) };
  const { x, y } = cornerXY(watermark.corner, m, 'W', 'H', 'w', 'h');
  const mark = `[1:v]format=rgba,scale=${size.width}:${size.height}:flags=area,colorchannelmixer=aa=${alpha}[mark]`;
  const overlay = `overlay=x=${x}:y=${y}:format=rgb`;
  return {
    files: [{ name: WATERMARK_IMAGE_FILE, data: watermark.png }],
    // png_pipe: one PNG, read as is (the image2 demuxer would read '%' in a temp path as a frame-number pattern).
    inputArgs: ['-f', 'png_pipe', '-i', path.join(dir, WATERMARK_IMAGE_FILE)],
    complex: true,
    graph: (before, after) => {
      const base = `[0:v]${before.length > 0 ? before.join(',') : 'null'}[base]`;
      const marked = after.length > 0 ? `[base][mark]${overlay}[marked];[marked]${after}` : `[base][mark]${overlay}`;
      return `${mark};${base};${marked}`;
    },
  };
}

/** Filters joined into one chain, then the rest of the graph (which may start a labelled graph: `split[a][b];…`). */
export function joinChain(filters: readonly string[], after: string): string {
  return [...filters, ...(after.length > 0 ? [after] : [])].join(',');
}
