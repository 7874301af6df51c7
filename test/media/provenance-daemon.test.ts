/**
 * Provenance end to end: a real daemon (fixture model, onnxruntime, gRPC on loopback) started with an operator
 * watermark marks the MP4 it streams, and writes the job's provenance into it; request text with filter syntax in it
 * changes only the metadata (with ANIMATE_PROVENANCE_PROMPTS on, so that the prompt reaches it); by default the prompt
 * is in no tag and nowhere in the file. A watermark ffmpeg cannot draw stops the daemon's start, naming the variable.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clipBytes, collect, startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';
import { usePrivateTmpdir } from '../helpers/private-tmpdir.ts';
import { decodeFrames, getMediaBinaries } from '../../inference/media/index.ts';
import { resolveWatermark, type Watermark } from '../../inference/media/watermark.ts';
import { startDaemon } from '../../inference/server/daemon.ts';
import { silentLogger } from '../../inference/log.ts';
import { embeddedDaemonOptions, startEmbeddedDaemon } from '../../app/daemon.ts';
import { connectAnimator } from '../../shared/rpc/client.ts';
import { loadConfig } from '../../shared/config/index.ts';
import { encodePng, pngChunk, PNG_SIGNATURE } from '../../tools/eval/png.ts';

const execFileAsync = promisify(execFile);
const tmp = usePrivateTmpdir('animate-provenance-daemon-');

let fx: FixtureDaemon;
let mark: Watermark;
beforeAll(async () => {
  const file = path.join(tmp(), 'mark.png');
  await writeFile(file, encodePng(8, 8, new Uint8Array(8 * 8 * 3).fill(255)));
  mark = resolveWatermark({ imagePath: file, corner: 'top-left', opacity: 1 }).value!;
  fx = await startFixtureDaemon({ daemon: { watermark: mark, provenancePrompts: true } });
});
afterAll(async () => {
  await fx?.close();
});

async function tagsOf(mp4: Buffer): Promise<Record<string, string>> {
  const file = path.join(tmp(), 'clip.mp4');
  await writeFile(file, mp4);
  const { ffprobePath } = await getMediaBinaries();
  const { stdout } = await execFileAsync(ffprobePath, ['-v', 'error', '-show_entries', 'format_tags', '-of', 'json', file]);
  return (JSON.parse(stdout) as { format: { tags: Record<string, string> } }).format.tags;
}

describe('a daemon with provenance and a watermark', () => {
  it('writes the job into the MP4 metadata and draws the mark in its corner', async () => {
    const prompt = "a red ball ';drawtext=text=pwn [in]overlay\nbounces";
    const events = await collect(fx.client.generate({ prompt, negativePrompt: 'blurry,[x];y', seed: 21, steps: 2, frames: 5, width: 48, height: 32, fps: 6, guidanceScale: 5 }));
    const done = events.at(-1)!.done!;
    const mp4 = clipBytes(events);
    const tags = await tagsOf(mp4);
    console.log('daemon clip tags:', tags);
    expect(tags).toMatchObject({
      ai_generated: 'true', model: 'fixture', model_hash: done.modelHash, seed: '21', steps: '2', guidance_scale: '5',
      size: '48x32', frames: '5', fps: '6', source: 'text-to-video', prompt: "a red ball ';drawtext=text=pwn [in]overlay bounces", negative_prompt: 'blurry,[x];y',
      comment: 'AI-generated video (text-to-video, model fixture, seed 21)',
    });
    // The 8×8 white mark, 2 px from the top-left corner (3% of 32 rounds to 1; the floor is 2).
    const frame = (await decodeFrames(mp4, 'mp4')).frames[0]!;
    const at = (x: number, y: number) => frame[(y * 48 + x) * 3]!;
    const inside: number[] = [];
    for (let y = 4; y < 8; y++) for (let x = 4; x < 8; x++) inside.push(at(x, y));
    console.log('mark pixels (red channel):', inside.join(' '));
    expect(Math.min(...inside)).toBeGreaterThan(235);
  });
});

describe('a daemon without ANIMATE_PROVENANCE_PROMPTS (the default)', () => {
  it('writes the model, hash, seed and settings, and the prompt nowhere in the file', async () => {
    const daemon = await startDaemon({ listen: '127.0.0.1:0', modelsDir: fx.modelsDir, defaultModel: fx.fixture.options.name, logger: silentLogger });
    const client = connectAnimator(daemon.address);
    try {
      const prompt = 'a red ball PROMPT-MARKER-5521 bounces';
      const events = await collect(client.generate({ prompt, negativePrompt: 'NEGATIVE-MARKER-5522', seed: 21, steps: 2, frames: 5, width: 48, height: 32, fps: 6, guidanceScale: 5 }));
      const mp4 = clipBytes(events);
      const tags = await tagsOf(mp4);
      expect(tags).toMatchObject({ ai_generated: 'true', model: 'fixture', model_hash: events.at(-1)!.done!.modelHash, seed: '21', steps: '2', size: '48x32' });
      expect([tags['prompt'], tags['negative_prompt']]).toEqual([undefined, undefined]);
      expect([mp4.includes(Buffer.from('PROMPT-MARKER-5521')), mp4.includes(Buffer.from('NEGATIVE-MARKER-5522'))]).toEqual([false, false]);
    } finally {
      client.close();
      await daemon.close({ graceMs: 0 });
    }
  });

  it('npm start passes the setting: off unless ANIMATE_PROVENANCE_PROMPTS=true', () => {
    const base = { ANIMATE_MODELS_DIR: fx.modelsDir, ANIMATE_DEFAULT_MODEL: 'fixture' };
    expect(embeddedDaemonOptions(loadConfig(base, [], { dotenv: false }), { logger: silentLogger }).provenancePrompts).toBe(false);
    expect(embeddedDaemonOptions(loadConfig({ ...base, ANIMATE_PROVENANCE_PROMPTS: 'true' }, [], { dotenv: false }), { logger: silentLogger }).provenancePrompts).toBe(true);
  });
});

describe('a watermark ffmpeg cannot draw', () => {
  it('stops the daemon at start, naming the variable', async () => {
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(8, 0);
    ihdr.writeUInt32BE(8, 4);
    ihdr.set([8, 2, 0, 0, 0], 8);
    const file = path.join(tmp(), 'broken.png');
    await writeFile(file, Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', Buffer.from('garbage')), pngChunk('IEND', Buffer.alloc(0))]));
    const broken = resolveWatermark({ imagePath: file }).value!;
    await expect(startDaemon({ listen: '127.0.0.1:0', modelsDir: fx.modelsDir, logger: silentLogger, watermark: broken })).rejects.toThrow(/^ANIMATE_WATERMARK_IMAGE: the watermark leaves a MP4 unchanged even at opacity 1/);
  });

  it('npm start reads the same settings: a missing PNG is a configuration problem naming the variable', async () => {
    const config = loadConfig({ ANIMATE_MODELS_DIR: fx.modelsDir, ANIMATE_DEFAULT_MODEL: 'fixture', ANIMATE_WATERMARK_IMAGE: path.join(tmp(), 'missing.png') }, [], { dotenv: false });
    await expect(startEmbeddedDaemon(config, { logger: silentLogger })).rejects.toMatchObject({
      name: 'ConfigError',
      problems: [`ANIMATE_WATERMARK_IMAGE=${path.join(tmp(), 'missing.png')} cannot be read (ENOENT); give a readable PNG file`],
    });
  });
});
