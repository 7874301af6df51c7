/**
 * Which ffmpeg the media module runs: a system ffmpeg 5+ on PATH before the npm build, the npm build before an older
 * system one, and the one short line the daemon logs about it. The "system" binaries here are real: small shell
 * wrappers that answer `-version` as a given release would and hand every other call to the npm ffmpeg/ffprobe, so
 * the encodes below really run through the chosen path (each wrapper records its calls).
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeMediaBinaries, parseFfmpegVersion, probeClip, resolveMediaBinaries } from '../../inference/media/index.ts';

const execFileAsync = promisify(execFile);
const require = createRequire(import.meta.url);
const npmFfmpeg = (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
const npmFfprobe = (require('@ffprobe-installer/ffprobe') as { path: string }).path;

let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'media-binaries-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A folder holding `ffmpeg` and `ffprobe` wrappers that claim `release` and log each call to calls.log. */
async function fakeSystem(name: string, release: string): Promise<string> {
  const dir = path.join(root, name);
  await execFileAsync('mkdir', ['-p', dir]);
  for (const [tool, real] of [['ffmpeg', npmFfmpeg], ['ffprobe', npmFfprobe]] as const) {
    const script =
      '#!/bin/sh\n' +
      `echo "${tool} $*" >> "${dir}/calls.log"\n` +
      `if [ "$2" = "-version" ]; then echo "${tool} version ${release} Copyright (c) 2000-2024 the FFmpeg developers"; exit 0; fi\n` +
      `exec "${real}" "$@"\n`;
    const file = path.join(dir, tool);
    await writeFile(file, script);
    await chmod(file, 0o755);
  }
  return dir;
}

describe('parseFfmpegVersion', () => {
  it('reads releases from distribution, tagged and snapshot banners', () => {
    expect(parseFfmpegVersion('ffmpeg version 5.1.8-0+deb12u1 Copyright (c) 2000-2025 the FFmpeg developers')).toEqual({ release: '5.1.8', major: 5 });
    expect(parseFfmpegVersion('ffmpeg version n6.1.1 Copyright (c) 2000-2023')).toEqual({ release: '6.1.1', major: 6 });
    expect(parseFfmpegVersion('ffprobe version 7.0-static https://johnvansickle.com/ffmpeg/')).toEqual({ release: '7.0', major: 7 });
    expect(parseFfmpegVersion('ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright')).toEqual({ release: '4.4.2', major: 4 });
    expect(parseFfmpegVersion('ffmpeg version N-47683-g0e8eb07980-static https://johnvansickle.com/ffmpeg/')).toEqual({
      release: 'N-47683-g0e8eb07980-static',
      major: undefined,
    });
    expect(parseFfmpegVersion('')).toBeUndefined();
    expect(parseFfmpegVersion('Usage: true [ignored command line arguments]')).toBeUndefined();
  });
});

describe('choosing the binaries', () => {
  it('prefers a system ffmpeg 5+ on PATH over the npm build', async () => {
    const dir = await fakeSystem('v6', '6.1.1');
    const binaries = await resolveMediaBinaries({ env: { PATH: dir } });
    expect(binaries.ffmpegSource).toBe('system');
    expect(binaries.ffmpegPath).toBe(path.join(dir, 'ffmpeg'));
    expect(binaries.ffprobeSource).toBe('system');
    expect(binaries.ffprobePath).toBe(path.join(dir, 'ffprobe'));
    expect(binaries.ffmpegRelease).toBe('6.1.1');
    expect(binaries.passedOver).toEqual([]);
    const line = describeMediaBinaries(binaries);
    console.log(`[binaries] ${line}`);
    expect(line).toBe(`ffmpeg 6.1.1 (system ${dir}/ffmpeg), ffprobe 6.1.1 (system ${dir}/ffprobe)`);
  });

  it('uses the npm build when the system ffmpeg is older than 5, and says why', async () => {
    const dir = await fakeSystem('v4', '4.4.2');
    const binaries = await resolveMediaBinaries({ env: { PATH: dir } });
    expect(binaries.ffmpegSource).toBe('npm');
    expect(binaries.ffmpegPath).toBe(npmFfmpeg);
    expect(binaries.ffprobeSource).toBe('npm');
    expect(binaries.passedOver).toEqual(['system ffmpeg 4.4.2 is older than 5', 'system ffprobe 4.4.2 is older than 5']);
    expect(describeMediaBinaries(binaries)).toMatch(
      /^ffmpeg N-\d+-g[0-9a-f]+-static \(npm @ffmpeg-installer\/ffmpeg\), ffprobe N-\d+-g[0-9a-f]+-static \(npm @ffprobe-installer\/ffprobe\); system ffmpeg 4\.4\.2 is older than 5; system ffprobe 4\.4\.2 is older than 5$/,
    );
  });

  it('uses the npm build when nothing is on PATH', async () => {
    const binaries = await resolveMediaBinaries({ env: { PATH: '' } });
    expect(binaries.ffmpegSource).toBe('npm');
    expect(binaries.passedOver).toEqual(['no ffmpeg on PATH', 'no ffprobe on PATH']);
    console.log(`[binaries] ${describeMediaBinaries(binaries)}`);
  });

  it('an explicit FFMPEG_PATH wins over a system ffmpeg 5+', async () => {
    const dir = await fakeSystem('v7', '7.0.2');
    const binaries = await resolveMediaBinaries({ env: { PATH: dir, FFMPEG_PATH: npmFfmpeg } });
    expect(binaries.ffmpegSource).toBe('env');
    expect(binaries.ffmpegPath).toBe(npmFfmpeg);
    expect(binaries.ffprobeSource).toBe('system');
  });

  it('encodes and probes through the chosen system binaries, spawned without a shell', async () => {
    const dir = await fakeSystem('v5', '5.1.8');
    const work = await mkdtemp(path.join(root, 'run-'));
    // A file name a shell would expand: spawned with an argument array, ffmpeg sees it verbatim.
    const odd = path.join(work, 'clip $(touch pwned) ;.mp4');
    const script = path.join(work, 'encode.mts');
    const mediaUrl = new URL('../../inference/media/index.ts', import.meta.url).href;
    await writeFile(
      script,
      `import { writeFile } from 'node:fs/promises';\n` +
        `import { encodeClip, getMediaBinaries, probeClip, describeMediaBinaries } from ${JSON.stringify(mediaUrl)};\n` +
        'const frames = Array.from({ length: 5 }, (_, i) => new Uint8Array(16 * 16 * 3).fill(40 * i));\n' +
        "const clip = await encodeClip({ width: 16, height: 16, fps: 8, frames }, { format: 'mp4' });\n" +
        `await writeFile(${JSON.stringify(odd)}, clip.data);\n` +
        `const probe = await probeClip(${JSON.stringify(odd)});\n` +
        'console.log(JSON.stringify({ line: describeMediaBinaries(await getMediaBinaries()), probe }));\n',
    );
    const { stdout } = await execFileAsync(path.resolve('node_modules/.bin/tsx'), [script], {
      cwd: work,
      env: { ...process.env, PATH: `${dir}${path.delimiter}${process.env['PATH'] ?? ''}`, FFMPEG_PATH: '', FFPROBE_PATH: '' },
    });
    const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { line: string; probe: { codec: string; frames: number; width: number } };
    expect(result.line).toBe(`ffmpeg 5.1.8 (system ${dir}/ffmpeg), ffprobe 5.1.8 (system ${dir}/ffprobe)`);
    expect(result.probe).toMatchObject({ codec: 'h264', frames: 5, width: 16 });
    const calls = await readFile(path.join(dir, 'calls.log'), 'utf8');
    // -version/-encoders/-filters once each, the encode, and the probe.
    expect(calls).toMatch(/^ffmpeg .*-c:v libx264 .*out\.mp4$/m);
    expect(calls).toContain(`ffprobe -hide_banner -v error -count_frames -show_streams -show_format -of json ${odd}`);
    await expect(readFile(path.join(work, 'pwned'))).rejects.toThrow(/ENOENT/);
    // And this process's own probe of the same file (whatever binaries it chose) agrees.
    expect(await probeClip(odd)).toMatchObject({ codec: 'h264', frames: 5, width: 16, height: 16 });
  });
});
