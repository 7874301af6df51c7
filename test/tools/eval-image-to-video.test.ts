/**
 * The image-to-video table of npm run eval (tools/eval/image-to-video.ts, image-clips.ts, png.ts, psnr.ts): the PSNR
 * and the pass/fail rules on numbers known in closed form, the PNG the eval attaches read back by the daemon's own
 * decoder byte for byte, and one measured clip through a real daemon serving the Wan2.2-shaped fixture package,
 * whose decode(encode(image)) is the image's 16×16 block means: a block-constant image comes back at the MP4's
 * ceiling, a 1-pixel checkerboard as flat grey (6.02 dB, the closed form). Then the command itself on that package.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFixturePackage } from '../fixtures/fixture-model.ts';
import { buildWanFixturePackage } from '../fixtures/wan-fixture.ts';
import { decodeImageInput } from '../../inference/media/image-input.ts';
import { silentLogger } from '../../inference/log.ts';
import { startDaemon, type RunningDaemon } from '../../inference/server/daemon.ts';
import { generateClip } from '../../tools/eval/generate.ts';
import { codecCeiling, imageClip, referenceAt } from '../../tools/eval/image-clips.ts';
import { compareImageToVideo, describeLost, imageToVideoTable, type ImageClip } from '../../tools/eval/image-to-video.ts';
import { encodePng } from '../../tools/eval/png.ts';
import { psnr, type RgbFrame } from '../../tools/eval/psnr.ts';
import { score } from '../../tools/eval/report.ts';
import type { ClipVerdict } from '../../tools/eval/checks.ts';
import { loadWorld, type EvalCase } from '../../tools/eval/world.ts';

const REPO = path.resolve(import.meta.dirname, '../..');

function frame(width: number, height: number, rgb: (x: number, y: number) => [number, number, number]): RgbFrame {
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) out.set(rgb(x, y), (y * width + x) * 3);
  return { width, height, rgb: out };
}

describe('psnr', () => {
  it('is 10·log10(255²/MSE): every byte off by 5 gives 34.15 dB; identical frames give Infinity', () => {
    const a = frame(8, 4, () => [100, 100, 100]);
    const b = frame(8, 4, () => [105, 95, 105]);
    expect(psnr(b, a)).toBeCloseTo(10 * Math.log10((255 * 255) / 25), 10);
    expect(psnr(b, a)).toBeCloseTo(34.151, 3);
    expect(psnr(a, a)).toBe(Infinity);
  });

  it('compares the reference-sized window of a larger (MP4-padded) frame, and refuses a smaller one', () => {
    const ref = frame(4, 4, (x, y) => [x * 10, y * 10, 0]);
    // 6×6 with the reference in the top-left corner and junk in the padding.
    const padded = frame(6, 6, (x, y) => (x < 4 && y < 4 ? [x * 10, y * 10, 0] : [255, 255, 255]));
    expect(psnr(padded, ref)).toBe(Infinity);
    expect(() => psnr(ref, padded)).toThrow(/frame is 4x4, smaller than the 6x6 reference/);
    expect(() => psnr({ width: 4, height: 4, rgb: new Uint8Array(5) }, ref)).toThrow(/the frame has 5 bytes, not 4x4x3/);
  });
});

describe('encodePng', () => {
  it('the daemon\'s image decoder reads back exactly the frame, and at the same size the reference is the frame itself', async () => {
    const f = frame(40, 24, (x, y) => [(x * 37 + y) % 256, (y * 53) % 256, (x * y) % 256]);
    const png = encodePng(f.width, f.height, f.rgb);
    const decoded = await decodeImageInput(png, { mimeType: 'image/png', width: 40, height: 24 });
    expect(Buffer.from(decoded.rgb).equals(Buffer.from(f.rgb))).toBe(true);
    expect(await referenceAt(f, png, 40, 24)).toBe(f);
    // At another size, the daemon's centre crop: 40×24 → 20×12 is a 2×2 area average, column 0 of row 0 averages
    // pixels (0,0), (1,0), (0,1), (1,1).
    const half = await referenceAt(f, png, 20, 12);
    expect([half.width, half.height, half.rgb.length]).toEqual([20, 12, 20 * 12 * 3]);
    const avg = (c: number): number => (f.rgb[c]! + f.rgb[3 + c]! + f.rgb[40 * 3 + c]! + f.rgb[40 * 3 + 3 + c]!) / 4;
    for (let c = 0; c < 3; c++) expect(Math.abs(half.rgb[c]! - avg(c))).toBeLessThanOrEqual(1);
  });

  it('refuses a buffer that is not width × height × 3 bytes, naming both', () => {
    expect(() => encodePng(4, 4, new Uint8Array(47))).toThrow(/47 bytes of RGB for 4x4; expected 48/);
    expect(() => encodePng(0, 4, new Uint8Array(0))).toThrow(/size 0x4/);
  });
});

const asked: EvalCase = { prompt: 'a red ball moves left', shape: 'circle', colour: 'red', motion: 'left', scene: 'plain', seed: 1, heldout_pair: 'shape_colour' };
const saw = (colour: string, motion: string): ClipVerdict => ({ scene: 'plain', colour, shape: 'circle', motion, presence: 1, flicker: 0, consistent: true, features: {} });

/** `n` paired clips: text-to-video all right; image-to-video with `wrongColour` clips of the wrong colour. */
function pairs(n: number, wrongColour: number, psnrs: number[]): { text: ReturnType<typeof score>[]; image: ImageClip[] } {
  const text = Array.from({ length: n }, () => score(asked, saw('red', 'left')));
  const image = Array.from({ length: n }, (_, i) => ({
    scored: score(asked, saw(i < wrongColour ? 'blue' : 'red', 'left')),
    psnr: psnrs[i % psnrs.length]!,
    textPsnr: 15,
    codecPsnr: 40,
  }));
  return { text, image };
}

describe('compareImageToVideo', () => {
  it('passes when every first frame reaches 25 dB and colour and motion hold', () => {
    const { text, image } = pairs(10, 0, [25, 30, 31]);
    const c = compareImageToVideo(text, image);
    expect(c.pass).toEqual({ psnr: true, colour: true, motion: true, all: true });
    expect(c.psnr.atGoal).toBe(10);
    expect(c.psnr.min).toBe(25);
    expect(c.psnr.median).toBe(30);
    expect(c.psnr.mean).toBeCloseTo((25 * 4 + 30 * 3 + 31 * 3) / 10, 10);
    const printed = imageToVideoTable(c, 'title');
    console.info(printed);
    expect(printed).toContain('| first frame vs the image, dB (mean / median / min) | 15.0 / 15.0 / 15.0 | 28.3 / 30.0 / 25.0 | +13.3 dB | ≥ 25 dB in every clip | pass (10/10) |');
    expect(printed).toContain('| colour | 10/10 100% | 10/10 100% | +0.00 | no drop (≥ text − 0.02) | pass |');
    expect(printed).toContain('(the most a clip can score): 40.0 dB mean');
    expect(printed).toMatch(/image-to-video: pass$/);
    expect(printed).not.toContain('lost against');
  });

  it('one clip under 25 dB fails the PSNR rule, and says how many', () => {
    const { text, image } = pairs(10, 0, [24.9, 30, 30, 30, 30, 30, 30, 30, 30, 30]);
    const c = compareImageToVideo(text, image);
    expect(c.pass.psnr).toBe(false);
    expect(c.pass.all).toBe(false);
    expect(c.failures).toEqual(['first-frame PSNR under 25 dB in 1 of 10 clips']);
    expect(imageToVideoTable(c, 't')).toContain('| FAIL (9/10) |');
  });

  it('a colour rate 0.10 below text-to-video is a drop at tolerance 0.02 and not at 0.10 (the edge counts as held)', () => {
    const { text, image } = pairs(10, 1, [30]);
    const strict = compareImageToVideo(text, image, 0.02);
    expect(strict.rates.colour).toEqual({ text: 1, image: 0.9, textPassed: 10, imagePassed: 9 });
    expect(strict.pass).toEqual({ psnr: true, colour: false, motion: true, all: false });
    expect(strict.failures).toEqual(['colour dropped from 100% to 90% (more than the tolerance of 0.02)']);
    expect(strict.lost).toEqual([{ prompt: asked.prompt, check: 'colour', asked: 'red', got: 'blue' }]);
    expect(imageToVideoTable(strict, 't')).toContain('lost against text-to-video (same prompt and seed): colour of "a red ball moves left" red → blue\n');
    expect(imageToVideoTable(strict, 't')).toContain('| colour | 10/10 100% | 9/10 90% | -0.10 | no drop (≥ text − 0.02) | FAIL |');
    expect(compareImageToVideo(text, image, 0.1).pass.colour).toBe(true);
    expect(compareImageToVideo(text, image, 0.0999).pass.colour).toBe(false);
  });

  it('groups lost clips by prompt, check and what was seen; a clip that failed in text-to-video too is not lost', () => {
    const text = [score(asked, saw('red', 'left')), score(asked, saw('red', 'left')), score(asked, saw('red', 'up'))];
    const image = [saw('red', 'right'), saw('red', 'right'), saw('red', 'down')].map((v) => ({ scored: score(asked, v), psnr: 30, textPsnr: 15, codecPsnr: 40 }));
    const c = compareImageToVideo(text, image, 0.5);
    expect(c.rates.motion).toEqual({ text: 2 / 3, image: 0, textPassed: 2, imagePassed: 0 });
    expect(c.pass.motion).toBe(false);
    expect(describeLost(c.lost)).toBe('motion of "a red ball moves left" left → right ×2');
  });

  it('refuses unpaired lists and a tolerance outside [0, 1)', () => {
    const { text, image } = pairs(3, 0, [30]);
    expect(() => compareImageToVideo(text, image.slice(1))).toThrow(/2 image clips for 3 text clips/);
    const other = [...image];
    other[1] = { ...other[1]!, scored: score({ ...asked, prompt: 'a blue box' }, saw('red', 'left')) };
    expect(() => compareImageToVideo(text, other)).toThrow(/clip 1 is "a blue box", its text-to-video pair "a red ball moves left"/);
    expect(() => compareImageToVideo(text, image, -0.1)).toThrow(/drop tolerance must be in \[0, 1\)/);
  });
});

describe('one image-to-video clip through a real daemon (Wan2.2-shaped fixture: first frame = the image\'s 16×16 block means)', () => {
  let modelsDir: string;
  let daemon: RunningDaemon;

  beforeAll(async () => {
    modelsDir = await mkdtemp(path.join(os.tmpdir(), 'eval-i2v-'));
    await buildWanFixturePackage(path.join(modelsDir, 'wan'), { name: 'wan', maxTextLength: 16 });
    await buildFixturePackage(path.join(modelsDir, 'plain'), { name: 'plain' });
    daemon = await startDaemon({ listen: '127.0.0.1:0', modelsDir, defaultModel: 'wan', logger: silentLogger });
  }, 120_000);

  afterAll(async () => {
    await daemon?.close({ graceMs: 0 });
    await rm(modelsDir, { recursive: true, force: true });
  });

  it('a block-constant image starts the clip at the codec\'s ceiling; a 1-pixel checkerboard comes back grey, 6.02 dB', async () => {
    const world = loadWorld();
    const generate = { seed: 3, model: 'wan' };
    const textClip = await generateClip(daemon.address, { prompt: asked.prompt, ...generate });
    expect([textClip.width, textClip.height]).toEqual([64, 64]);

    // Constant on each 16×16 block: encode then decode gives it back, so only the MP4 stands between.
    const blocks = frame(64, 64, (x, y) => [40 + 50 * (x >> 4), 200 - 40 * (y >> 4), ((x >> 4) + (y >> 4)) % 2 ? 220 : 30]);
    const ceiling = await codecCeiling(blocks);
    const t0 = performance.now();
    const good = await imageClip({ address: daemon.address, world, case: asked, image: blocks, textClip, generate });
    console.info(`block image: first frame ${good.measured.psnr.toFixed(2)} dB, codec ceiling ${ceiling.toFixed(2)} dB, text-to-video first frame ${good.measured.textPsnr.toFixed(2)} dB (${(performance.now() - t0).toFixed(0)} ms)`);
    expect(ceiling).toBeGreaterThan(30);
    expect(good.measured.psnr).toBeGreaterThan(25);
    expect(Math.abs(good.measured.psnr - ceiling)).toBeLessThan(1.5);
    // Without the image the first frame is whatever the noise and prompt make: far from this picture.
    expect(good.measured.textPsnr).toBeLessThan(good.measured.psnr - 8);
    expect(good.measured.codecPsnr).toBeCloseTo(ceiling, 1);

    // Alternating 0/255: every 16×16 mean is 127.5, so the clip starts flat grey and every byte is 127.5 off:
    // 10·log10(255² / 127.5²) = 6.02 dB (the MP4 adds a little either way).
    const checker = frame(64, 64, (x, y) => ((x + y) % 2 ? [255, 255, 255] : [0, 0, 0]));
    const bad = await imageClip({ address: daemon.address, world, case: asked, image: checker, textClip, generate });
    console.info(`checkerboard: first frame ${bad.measured.psnr.toFixed(2)} dB (closed form 6.02)`);
    expect(Math.abs(bad.measured.psnr - 20 * Math.log10(2))).toBeLessThan(0.3);
    const verdict = compareImageToVideo([score(asked, good.measured.scored.verdict), score(asked, bad.measured.scored.verdict)], [good.measured, bad.measured]);
    expect(verdict.pass.psnr).toBe(false);
    expect(verdict.psnr.atGoal).toBe(1);
  }, 120_000);

  it('npm run eval prints the image-to-video table and writes it to --report and --json; a package without an encoder says so', async () => {
    const run = (args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'tools/eval/run-eval.ts'), ...args], { cwd: REPO, env: { ...process.env, ANIMATE_LOG_LEVEL: 'error' } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    const out = path.join(modelsDir, 'out');
    const t0 = performance.now();
    const res = await run(['--model', path.join(modelsDir, 'wan'), '--limit', '2', '--report', `${out}.md`, '--json', `${out}.json`]);
    console.info(`npm run eval on the fixture, 2 prompts: ${((performance.now() - t0) / 1000).toFixed(1)} s\n${res.stdout}`);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/Image-to-video on the same prompts and seeds, from the world's first frame, generated in \d+ s \(2 clips each; drop tolerance 0\.02\)/);
    expect(res.stdout).toMatch(/\| first frame vs the image, dB \(mean \/ median \/ min\) \| [\d.]+ \/ [\d.]+ \/ [\d.]+ \| [\d.]+ \/ [\d.]+ \/ [\d.]+ \|/);
    expect(res.stdout).toMatch(/image-to-video: (pass|FAIL)/);
    expect(await readFile(`${out}.md`, 'utf8')).toBe(`${res.stdout.slice(res.stdout.indexOf('Held-out prompt adherence')).trimEnd()}\n`);
    const json = JSON.parse(await readFile(`${out}.json`, 'utf8')) as Array<{ mode: string; prompt: string; psnr?: number }>;
    expect(json.map((j) => j.mode)).toEqual(['text-to-video', 'text-to-video', 'image-to-video', 'image-to-video']);
    expect(json[2]!.prompt).toBe(json[0]!.prompt);
    // The printed mean is the mean of the clips' figures in the JSON.
    const mean = (json[2]!.psnr! + json[3]!.psnr!) / 2;
    expect(res.stdout).toMatch(new RegExp(`\\| first frame vs the image[^|]*\\| [\\d.]+ / [\\d.]+ / [\\d.]+ \\| ${mean.toFixed(1).replace('.', '\\.')} / `));

    const plain = await run(['--model', path.join(modelsDir, 'plain'), '--limit', '1']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toContain('image-to-video: not run (the package has no vae_encoder/)');
  }, 240_000);
});
