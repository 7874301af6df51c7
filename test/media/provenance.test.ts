/**
 * Provenance and the watermark (issue #25) against the real ffmpeg and ffprobe: the MP4 metadata read back with
 * `ffprobe -show_entries format_tags`, what GIF and WebP keep (nothing), the watermark found by decoding frames and
 * comparing them with the unmarked clip's, its opacity measured, the proof that no request text reaches a filter
 * argument, and the start-up errors for bad watermark settings.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { usePrivateTmpdir } from '../helpers/private-tmpdir.ts';
import { decodeFrames, getMediaBinaries, type ClipFormat, type RgbVideo } from '../../inference/media/index.ts';
import { clipEncodeJob, encodeClip, verifyWatermark, type ClipMarks } from '../../inference/media/encode.ts';
import { rawEncodeCommand } from '../../inference/media/encode-raw.ts';
import { fitClip } from '../../inference/media/fit.ts';
import { cleanMetadataText, PROVENANCE_PROMPT_MAX_CHARS, provenanceTags, type ClipProvenance } from '../../inference/media/provenance.ts';
import {
  escapeFilterValue,
  findSystemFont,
  resolveWatermark,
  WATERMARK_IMAGE_MAX_BYTES,
  type Watermark,
  type WatermarkCorner,
} from '../../inference/media/watermark.ts';
import { daemonOptionsFrom } from '../../inference/cli/daemon-options.ts';
import { encodePng, pngChunk, PNG_SIGNATURE } from '../../tools/eval/png.ts';

const execFileAsync = promisify(execFile);
const tmp = usePrivateTmpdir('animate-provenance-');

const W = 128;
const H = 96;
const GREY = 96;

function flat(width = W, height = H, frames = 3, value = GREY): RgbVideo {
  const frame = new Uint8Array(width * height * 3).fill(value);
  return { width, height, fps: 8, frames: Array.from({ length: frames }, () => frame) };
}

// With the prompts (ANIMATE_PROVENANCE_PROMPTS on), so that the hostile texts below reach the metadata values.
const BENIGN: ClipProvenance & { prompt: string; negativePrompt: string } = {
  model: 'tiny-world', modelHash: 'f'.repeat(64), seed: 1234, steps: 8, guidanceScale: 7.5, scheduler: 'ddim',
  width: W, height: H, frames: 3, fps: 8, prompt: 'a red fox running through snow', negativePrompt: 'blurry',
  style: 'pixel-art', styleStrength: 0.8, source: 'text-to-video',
};

/** Request text built to break out of a filter string, an argv, a tag or a terminal, if any of them reached one. */
const HOSTILE_TEXTS = [
  "';drawtext=text=PWN:fontfile=/etc/passwd",
  '[in]overlay=0:0[out];[0:v]PWN,',
  'line one\nline two\r\n\tPWN\u0000\u001b[31mred\u202eevil',
  `PWN ${'x'.repeat(10 * 1024)}`,
  "-metadata comment=PWN -y /tmp/pwn.mp4 ; rm -rf / %{localtime} \\' \\\\",
  'emoji 🦊 and ünïcödé and 漢字 PWN',
];

function hostile(text: string): ClipProvenance {
  return { ...BENIGN, prompt: text, negativePrompt: text, model: text, style: text, scheduler: text };
}

async function ffprobeTags(file: string): Promise<Record<string, string>> {
  const { ffprobePath } = await getMediaBinaries();
  const { stdout } = await execFileAsync(ffprobePath, ['-v', 'error', '-show_entries', 'format_tags', '-of', 'json', file]);
  const tags = (JSON.parse(stdout) as { format?: { tags?: Record<string, string> } }).format?.tags ?? {};
  // The muxer's own brand tags are not ours.
  const { major_brand: _a, minor_version: _b, compatible_brands: _c, ...ours } = tags;
  return ours;
}

async function writeTmp(name: string, data: Uint8Array | string): Promise<string> {
  const file = path.join(tmp(), name);
  await writeFile(file, data);
  return file;
}

/** A solid white opaque PNG `side` × `side`. */
function whitePng(side: number): Buffer {
  return encodePng(side, side, new Uint8Array(side * side * 3).fill(255));
}

async function imageMark(options: { corner?: WatermarkCorner; opacity?: number; side?: number } = {}): Promise<Watermark> {
  const file = await writeTmp(`mark-${options.side ?? 16}.png`, whitePng(options.side ?? 16));
  const { value, problems } = resolveWatermark({ imagePath: file, corner: options.corner, opacity: options.opacity ?? 1 });
  expect(problems).toEqual([]);
  return value!;
}

function textMark(corner: WatermarkCorner, fontFile?: string): Watermark {
  const { value, problems } = resolveWatermark({ text: "AI: it's 100% [fake], ok;", corner, opacity: 1, ...(fontFile ? { fontPath: fontFile } : {}) });
  expect(problems).toEqual([]);
  return value!;
}

/** First frame of a clip, decoded. */
async function firstFrame(data: Buffer, format: ClipFormat): Promise<Uint8Array> {
  const video = await decodeFrames(data, format);
  return video.frames[0]!;
}

/** Per-pixel largest channel difference of two frames of `width` pixels a row. */
function diffMap(a: Uint8Array, b: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length; i += 3) out.push(Math.max(Math.abs(a[i]! - b[i]!), Math.abs(a[i + 1]! - b[i + 1]!), Math.abs(a[i + 2]! - b[i + 2]!)));
  return out;
}

interface Box { x0: number; y0: number; x1: number; y1: number }

/** The 16×16 image mark's box on a W×H picture: margin round(96·0.03) = 3 px. */
function markBox(corner: WatermarkCorner, side = 16, width = W, height = H, margin = 3): Box {
  const x0 = corner.endsWith('left') ? margin : width - side - margin;
  const y0 = corner.startsWith('top') ? margin : height - side - margin;
  return { x0, y0, x1: x0 + side, y1: y0 + side };
}

function inBox(x: number, y: number, b: Box, grow = 0): boolean {
  return x >= b.x0 - grow && x < b.x1 + grow && y >= b.y0 - grow && y < b.y1 + grow;
}

/** Largest difference outside `box` grown by `grow`, and the mean value of channel 0 inside `box` shrunk by 2. */
function measure(marked: Uint8Array, plain: Uint8Array, box: Box, width = W, grow = 16) {
  const diffs = diffMap(marked, plain);
  let outsideMax = 0;
  let insideSum = 0;
  let insideCount = 0;
  let insideMin = 255;
  diffs.forEach((d, i) => {
    const x = i % width;
    const y = Math.floor(i / width);
    if (!inBox(x, y, box, grow)) outsideMax = Math.max(outsideMax, d);
    if (inBox(x, y, box, -2)) {
      insideSum += marked[i * 3]!;
      insideCount++;
      insideMin = Math.min(insideMin, d);
    }
  });
  return { outsideMax, insideMean: insideSum / insideCount, insideMinDiff: insideMin };
}

/** The argv with each -metadata value reduced to its key: what request text may not change. */
function withoutMetadataValues(args: string[]): string[] {
  return args.map((arg, i) => (args[i - 1] === '-metadata' ? arg.slice(0, arg.indexOf('=') + 1) : arg));
}

describe('provenance metadata', () => {
  it('cleans text: control and bidi characters become spaces, and the prompt is cut at 1000 code points', () => {
    expect(cleanMetadataText('a\nb\r\n\tc\u0000d\u001b[31m\u202ee\u0085f', 100)).toBe('a b c d [31m e f');
    const long = '🦊'.repeat(5000);
    const cut = cleanMetadataText(long, PROVENANCE_PROMPT_MAX_CHARS);
    expect(Array.from(cut)).toHaveLength(PROVENANCE_PROMPT_MAX_CHARS);
    expect(cut.endsWith('🦊…')).toBe(true);
    // A lone surrogate (not valid UTF-8) is replaced, not stored.
    expect(cleanMetadataText('a\ud800b', 10)).toBe('a b');
  });

  it('the MP4 carries every tag, and ffprobe reads back exactly what was meant, hostile prompts included', async () => {
    for (const text of [BENIGN.prompt, ...HOSTILE_TEXTS]) {
      const provenance = text === BENIGN.prompt ? BENIGN : hostile(text);
      const clip = await encodeClip(flat(32, 32, 2), { format: 'mp4', marks: { provenance } });
      const file = await writeTmp('tags.mp4', clip.data);
      const tags = await ffprobeTags(file);
      expect(tags).toEqual(Object.fromEntries(provenanceTags(provenance)));
      expect(tags['prompt']).toBe(cleanMetadataText(text, PROVENANCE_PROMPT_MAX_CHARS));
      expect(Array.from(tags['prompt']!).length).toBeLessThanOrEqual(PROVENANCE_PROMPT_MAX_CHARS);
      expect(tags['prompt']).not.toMatch(/[\n\r\t\u0000\u001b\u202e]/);
    }
    const clip = await encodeClip(flat(32, 32, 2), { format: 'mp4', marks: { provenance: BENIGN } });
    const tags = await ffprobeTags(await writeTmp('benign.mp4', clip.data));
    console.log('MP4 provenance tags:', tags);
    expect(tags).toMatchObject({
      ai_generated: 'true', comment: 'AI-generated video (text-to-video, model tiny-world, seed 1234)', model: 'tiny-world', model_hash: 'f'.repeat(64),
      seed: '1234', steps: '8', guidance_scale: '7.5', scheduler: 'ddim', size: '128x96', frames: '3', fps: '8',
      prompt: 'a red fox running through snow', negative_prompt: 'blurry', style: 'pixel-art', style_strength: '0.8',
      digital_source_type: 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia',
    });
  });

  it('GIF and WebP keep no metadata (documented): the prompt is nowhere in the file, and ffprobe sees no GIF tags', async () => {
    const provenance = { ...BENIGN, prompt: 'UNIQUE-PROMPT-MARKER-7731' };
    for (const format of ['gif', 'webp'] as const) {
      const clip = await encodeClip(flat(32, 32, 2), { format, marks: { provenance } });
      expect(clip.data.includes(Buffer.from('UNIQUE-PROMPT-MARKER-7731'))).toBe(false);
      expect(clip.data.includes(Buffer.from('tiny-world'))).toBe(false);
      if (format === 'gif') expect(await ffprobeTags(await writeTmp('t.gif', clip.data))).toEqual({});
    }
    const mp4 = await encodeClip(flat(32, 32, 2), { format: 'mp4', marks: { provenance } });
    expect(mp4.data.includes(Buffer.from('UNIQUE-PROMPT-MARKER-7731'))).toBe(true);
  });

  it('without the prompts (ANIMATE_PROVENANCE_PROMPTS off, the default) the tags say the model, hash, seed and settings only', async () => {
    const { prompt: _p, negativePrompt: _n, ...withoutPrompts } = BENIGN;
    const clip = await encodeClip(flat(32, 32, 2), { format: 'mp4', marks: { provenance: withoutPrompts } });
    const tags = await ffprobeTags(await writeTmp('no-prompts.mp4', clip.data));
    expect(Object.keys(tags).sort()).toEqual(['ai_generated', 'comment', 'digital_source_type', 'fps', 'frames', 'generator', 'guidance_scale', 'model', 'model_hash', 'scheduler', 'seed', 'size', 'source', 'steps', 'style', 'style_strength']);
    expect(clip.data.includes(Buffer.from(BENIGN.prompt))).toBe(false);
  });

  it('an unmarked clip has no tags: previews and the old byte-for-byte behaviour are unchanged', async () => {
    const clip = await encodeClip(flat(32, 32, 2), { format: 'mp4' });
    expect(await ffprobeTags(await writeTmp('plain.mp4', clip.data))).toEqual({});
  });
});

describe('no request text reaches a filter', () => {
  it('the argv for hostile prompts differs from the benign one only in -metadata values, for every format and mark', async () => {
    const marks: Array<[string, Watermark | undefined]> = [['none', undefined], ['text', textMark('top-left')], ['image', await imageMark()]];
    const dir = path.join(tmp(), 'run');
    const argvOf = (format: ClipFormat, provenance: ClipProvenance, watermark: Watermark | undefined) => {
      const plan = { format, upscale: 2, qualityStep: 0, webpEncoder: 'libwebp_anim' as const, marks: { provenance, watermark } satisfies ClipMarks };
      const job = clipEncodeJob(flat(), plan, dir);
      return { args: rawEncodeCommand(flat(), job, path.join(dir, `out.${format}`)).args(), job };
    };
    let compared = 0;
    for (const format of ['mp4', 'gif', 'webp'] as const) {
      for (const [, watermark] of marks) {
        const benign = argvOf(format, BENIGN, watermark);
        for (const text of HOSTILE_TEXTS) {
          const evil = argvOf(format, hostile(text), watermark);
          expect(withoutMetadataValues(evil.args)).toEqual(withoutMetadataValues(benign.args));
          expect(evil.job.filterGraph).toBe(benign.job.filterGraph);
          expect(evil.job.extraInputs).toEqual(benign.job.extraInputs);
          expect(evil.job.files).toEqual(benign.job.files);
          // Outside -metadata values, nothing of the request's text appears anywhere in the argv.
          const rest = evil.args.filter((_, i) => evil.args[i - 1] !== '-metadata');
          expect(rest.join('\u0001')).not.toContain('PWN');
          // The filter flag's value is the one argv entry after -vf / -filter_complex, for both.
          const flag = evil.args.findIndex((a) => a === '-vf' || a === '-filter_complex');
          if (flag >= 0) expect(evil.args[flag + 1]).toBe(benign.job.filterGraph);
          compared++;
        }
      }
    }
    expect(compared).toBe(3 * 3 * HOSTILE_TEXTS.length);
  });

  it('escapes operator paths for both levels of filter syntax, and a weird font path and temp folder draw the same clip', async () => {
    expect(escapeFilterValue("a:b'c,d;e[f]g\\h i")).toBe("a\\\\\\:b\\\\\\'c\\\\\\,d\\\\\\;e\\\\\\[f\\\\\\]g\\\\\\\\h\\\\\\ i");
    const font = findSystemFont();
    expect(font).toBeDefined();
    const weirdDir = path.join(tmp(), "we:ird, [dir]'s; 100%");
    await mkdir(weirdDir, { recursive: true });
    const weirdFont = path.join(weirdDir, "f:o,n;t'[1].ttf");
    await copyFile(font!, weirdFont);
    const plain = await encodeClip(flat(), { format: 'mp4', marks: { watermark: textMark('bottom-left', font) } });
    const original = process.env['TMPDIR'];
    process.env['TMPDIR'] = weirdDir;
    try {
      const weird = await encodeClip(flat(), { format: 'mp4', marks: { watermark: textMark('bottom-left', weirdFont) } });
      expect(weird.data.equals(plain.data)).toBe(true);
    } finally {
      process.env['TMPDIR'] = original;
    }
    const unmarked = await encodeClip(flat(), { format: 'mp4' });
    expect(plain.data.equals(unmarked.data)).toBe(false);
  });
});

describe('visible watermark', () => {
  it('an image mark changes the pixels of its corner and nowhere else, in each corner', async () => {
    const plain = await firstFrame((await encodeClip(flat(), { format: 'mp4' })).data, 'mp4');
    for (const corner of ['top-left', 'top-right', 'bottom-left', 'bottom-right'] as const) {
      const clip = await encodeClip(flat(), { format: 'mp4', marks: { watermark: await imageMark({ corner }) } });
      const m = measure(await firstFrame(clip.data, 'mp4'), plain, markBox(corner));
      console.log(`image mark ${corner}: inside mean ${m.insideMean.toFixed(1)} (min diff ${m.insideMinDiff}), largest change outside ${m.outsideMax}`);
      expect(m.insideMean).toBeGreaterThan(240);
      expect(m.insideMinDiff).toBeGreaterThan(120);
      expect(m.outsideMax).toBeLessThanOrEqual(3);
    }
  });

  it('opacity is measurable: the mark over grey 96 reads 96 + (255 − 96) × opacity', async () => {
    const plain = await firstFrame((await encodeClip(flat(), { format: 'mp4' })).data, 'mp4');
    const means: number[] = [];
    for (const opacity of [0.25, 0.5, 1]) {
      const clip = await encodeClip(flat(), { format: 'mp4', marks: { watermark: await imageMark({ opacity }) } });
      const m = measure(await firstFrame(clip.data, 'mp4'), plain, markBox('bottom-right'));
      const expected = GREY + (255 - GREY) * opacity;
      console.log(`opacity ${opacity}: mark reads ${m.insideMean.toFixed(1)}, expected ${expected.toFixed(1)}`);
      expect(Math.abs(m.insideMean - expected)).toBeLessThan(10);
      means.push(m.insideMean);
    }
    expect(means[0]! < means[1]! && means[1]! < means[2]!).toBe(true);
    // Opacity 0 is accepted and draws nothing visible.
    const none = await encodeClip(flat(), { format: 'mp4', marks: { watermark: await imageMark({ opacity: 0 }) } });
    expect(measure(await firstFrame(none.data, 'mp4'), plain, markBox('bottom-right'), W, 0).outsideMax).toBeLessThanOrEqual(3);
  });

  it('marks WebP and GIF (upscaled ×2) in the same place, at the same size as the MP4', async () => {
    for (const format of ['webp', 'gif'] as const) {
      const plain = await firstFrame((await encodeClip(flat(64, 48), { format, upscale: 2 })).data, format);
      const clip = await encodeClip(flat(64, 48), { format, upscale: 2, marks: { watermark: await imageMark({ corner: 'top-right' }) } });
      const m = measure(await firstFrame(clip.data, format), plain, markBox('top-right'));
      console.log(`${format} ×2 image mark top-right: inside mean ${m.insideMean.toFixed(1)}, largest change outside ${m.outsideMax}`);
      expect(m.insideMean).toBeGreaterThan(230);
      expect(m.outsideMax).toBeLessThanOrEqual(format === 'gif' ? 0 : 6);
    }
  });

  it('a text mark draws in its corner only', async () => {
    const plain = await firstFrame((await encodeClip(flat(), { format: 'mp4' })).data, 'mp4');
    for (const corner of ['top-left', 'bottom-right'] as const) {
      const clip = await encodeClip(flat(), { format: 'mp4', marks: { watermark: textMark(corner) } });
      const diffs = diffMap(await firstFrame(clip.data, 'mp4'), plain);
      const changed = diffs.map((d, i) => ({ d, x: i % W, y: Math.floor(i / W) })).filter((p) => p.d > 24);
      const left = corner.endsWith('left');
      const top = corner.startsWith('top');
      const stray = changed.filter((p) => (left ? p.x >= W * 0.9 : p.x < W * 0.1) || (top ? p.y >= H / 2 : p.y < H / 2));
      console.log(`text mark ${corner}: ${changed.length} pixels changed by more than 24, ${stray.length} outside its half`);
      expect(changed.length).toBeGreaterThan(100);
      expect(stray).toEqual([]);
    }
  });

  it('every rung of a byte-limit fit carries the marks', async () => {
    const watermark = await imageMark();
    const fitted = await fitClip(flat(), { format: 'mp4', maxBytes: 1200, marks: { provenance: BENIGN, watermark } });
    const tags = await ffprobeTags(await writeTmp('fit.mp4', fitted.data));
    expect(tags['prompt']).toBe(BENIGN.prompt);
    console.log('fitted', fitted.data.length, 'bytes', fitted.fit);
  });
});

describe('watermark settings at start-up', () => {
  it('names the variable for an unreadable PNG, a file that is not a PNG, and one too large', async () => {
    const missing = resolveWatermark({ imagePath: path.join(tmp(), 'nope.png') });
    expect(missing.problems).toEqual([`ANIMATE_WATERMARK_IMAGE=${path.join(tmp(), 'nope.png')} cannot be read (ENOENT); give a readable PNG file`]);
    const jpeg = await writeTmp('mark.png.jpg', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46]));
    expect(resolveWatermark({ imagePath: jpeg }).problems).toEqual([`ANIMATE_WATERMARK_IMAGE=${jpeg} is not a PNG (its first bytes are not the PNG signature); allowed: a PNG file`]);
    const big = await writeTmp('big.png', Buffer.concat([whitePng(4), Buffer.alloc(WATERMARK_IMAGE_MAX_BYTES)]));
    expect(resolveWatermark({ imagePath: big }).problems[0]).toBe(`ANIMATE_WATERMARK_IMAGE=${big} is too large: ${WATERMARK_IMAGE_MAX_BYTES + whitePng(4).length} bytes; allowed: a PNG of at most 1048576 bytes (1 MiB)`);
    const wide = await writeTmp('wide.png', encodePng(2000, 1, new Uint8Array(2000 * 3)));
    expect(resolveWatermark({ imagePath: wide }).problems).toEqual([`ANIMATE_WATERMARK_IMAGE=${wide} is too large: 2000×1 pixels; allowed: at most 1024×1024`]);
    expect(resolveWatermark({ imagePath: tmp() }).problems[0]).toMatch(/^ANIMATE_WATERMARK_IMAGE=.* is not a file; allowed: a PNG file/);
  });

  it('names the variable for bad text, corners, opacity, fonts and combinations', async () => {
    const png = await writeTmp('ok.png', whitePng(8));
    expect(resolveWatermark({ text: 'one\ntwo' }).problems).toEqual(['ANIMATE_WATERMARK="one\\ntwo" holds a control character (a newline, a tab, …); allowed: one line of 1 to 100 characters']);
    expect(resolveWatermark({ text: 'x'.repeat(101) }).problems[0]).toMatch(/^ANIMATE_WATERMARK="x{40}…" is 101 characters long; allowed: at most 100$/);
    expect(resolveWatermark({ text: '   ' }).problems).toEqual(['ANIMATE_WATERMARK="   " is blank; allowed: one line of 1 to 100 characters']);
    expect(resolveWatermark({ text: 'a', imagePath: png }).problems).toEqual(['ANIMATE_WATERMARK and ANIMATE_WATERMARK_IMAGE are both set; set one of them (a text mark or an image mark)']);
    expect(resolveWatermark({ corner: 'top-left', opacity: 0.5 }).problems).toEqual(['ANIMATE_WATERMARK_CORNER, ANIMATE_WATERMARK_OPACITY are set without ANIMATE_WATERMARK or ANIMATE_WATERMARK_IMAGE; set one of those too, or unset them']);
    expect(resolveWatermark({ text: 'a' }, {}, { findFont: () => undefined }).problems[0]).toMatch(/^ANIMATE_WATERMARK needs a font to draw with and none was found .*; set ANIMATE_WATERMARK_FONT to a \.ttf or \.otf file, or use ANIMATE_WATERMARK_IMAGE instead$/);
    expect(resolveWatermark({ text: 'a', fontPath: png }).problems).toEqual([`ANIMATE_WATERMARK_FONT=${png} is not a TrueType or OpenType font; allowed: a .ttf, .otf or .ttc file`]);
    // Only a font's first 4 bytes are read: a 2 GiB file (sparse here) with the OpenType magic is accepted, where
    // reading it whole would fail (Node reads at most 2 GiB − 1 at once).
    const big = await writeTmp('big.otf', Buffer.from('OTTO'));
    await truncate(big, 2 ** 31);
    expect(resolveWatermark({ text: 'a', fontPath: big }).problems).toEqual([]);
    expect(resolveWatermark({ text: 'a', fontPath: path.dirname(big) }).problems).toEqual([`ANIMATE_WATERMARK_FONT=${path.dirname(big)} cannot be read (EISDIR); give a readable .ttf or .otf file`]);
    expect(resolveWatermark({ imagePath: png, opacity: 1.5 }).problems).toEqual(['ANIMATE_WATERMARK_OPACITY=1.5 is out of range; allowed: a number from 0 (invisible) to 1 (opaque)']);
    expect(resolveWatermark({}).value).toBeUndefined();
  });

  it('the daemon options stop start-up naming the variable or flag, and carry a good watermark', async () => {
    const png = await writeTmp('daemon.png', whitePng(8));
    expect(() => daemonOptionsFrom({}, { ANIMATE_WATERMARK_CORNER: 'middle', ANIMATE_WATERMARK: 'x' })).toThrow(/^ANIMATE_WATERMARK_CORNER="middle" is not valid: accepts top-left \| top-right \| bottom-left \| bottom-right/);
    expect(() => daemonOptionsFrom({}, { ANIMATE_WATERMARK_OPACITY: '2', ANIMATE_WATERMARK: 'x' })).toThrow(/^ANIMATE_WATERMARK_OPACITY="2" is not valid: accepts 0–1/);
    expect(() => daemonOptionsFrom({}, { ANIMATE_WATERMARK_IMAGE: 'missing.png' }, tmp())).toThrow('ANIMATE_WATERMARK_IMAGE=missing.png cannot be read (ENOENT); give a readable PNG file');
    expect(() => daemonOptionsFrom({ 'watermark-image': 'missing.png' }, {}, tmp())).toThrow('--watermark-image=missing.png cannot be read (ENOENT)');
    const options = daemonOptionsFrom({}, { ANIMATE_WATERMARK_IMAGE: 'daemon.png', ANIMATE_WATERMARK_CORNER: 'top-left', ANIMATE_WATERMARK_OPACITY: '0.3' }, tmp());
    expect(options.watermark).toMatchObject({ kind: 'image', corner: 'top-left', opacity: 0.3, width: 8, height: 8, source: png });
    expect(daemonOptionsFrom({}, {}).watermark).toBeUndefined();
  });

  it('a PNG whose header passes but ffmpeg cannot decode fails the start-up check, naming the variable', async () => {
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(8, 0);
    ihdr.writeUInt32BE(8, 4);
    ihdr.set([8, 2, 0, 0, 0], 8);
    const broken = Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', Buffer.from('not zlib data at all')), pngChunk('IEND', Buffer.alloc(0))]);
    const file = await writeTmp('broken.png', broken);
    const { value, problems } = resolveWatermark({ imagePath: file });
    expect(problems).toEqual([]);
    // ffmpeg logs the bad IDAT and passes the frames through unmarked with exit code 0: the check looks at the pixels.
    await expect(verifyWatermark(value!, 'ANIMATE_WATERMARK_IMAGE')).rejects.toThrow(
      'ANIMATE_WATERMARK_IMAGE: the watermark leaves a MP4 unchanged even at opacity 1 (an image ffmpeg cannot decode, or one fully transparent); give a PNG with something visible in it',
    );
    // Nor does a fully transparent one (8-bit grey + alpha, every alpha 0).
    const clearIhdr = Buffer.from(ihdr);
    clearIhdr[9] = 4;
    const clear = Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', clearIhdr), pngChunk('IDAT', deflateSync(Buffer.alloc(8 * 17))), pngChunk('IEND', Buffer.alloc(0))]);
    const clearMark = resolveWatermark({ imagePath: await writeTmp('clear.png', clear) }).value!;
    await expect(verifyWatermark(clearMark, 'ANIMATE_WATERMARK_IMAGE')).rejects.toThrow(/^ANIMATE_WATERMARK_IMAGE: the watermark leaves a MP4 unchanged/);
    await expect(verifyWatermark(await imageMark(), 'ANIMATE_WATERMARK_IMAGE')).resolves.toBeUndefined();
    await expect(verifyWatermark(textMark('top-right'), 'ANIMATE_WATERMARK')).resolves.toBeUndefined();
  });
});
