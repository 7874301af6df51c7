// The upload limit a Discord job sends the daemon, without Discord: the daemon is asked to fit the clip with headroom
// under the interaction's attachment limit (Discord measures the whole multipart request, and a refused fitted clip
// cannot be re-fitted by the bot), and chooseUpload still decides against the real limit.
import { describe, expect, it } from 'vitest';
import type { ChatAdapter, ClipFile, ClipInfo } from '../../bots/core/adapter.ts';
import { systemClock } from '../../bots/core/clock.ts';
import { silentLogger } from '../../bots/core/logger.ts';
import { buildGenerateRequest } from '../../bots/core/request.ts';
import { DiscordJobSurface } from '../../bots/discord/surface.ts';
import { chooseUpload, daemonFitBytes, DAEMON_FIT_HEADROOM } from '../../bots/discord/upload-choice.ts';

const MiB = 1024 * 1024;
const adapter: ChatAdapter = { platform: 'discord', limits: { minUpdateIntervalMs: 0, maxUploadBytes: 10 * MiB } };

describe('the daemon fits Discord clips with headroom', () => {
  it('asks for 95% of the limit less 8 KiB of multipart overhead, and half the limit at the least', () => {
    expect(DAEMON_FIT_HEADROOM).toEqual({ ratio: 0.95, overheadBytes: 8 * 1024, floorRatio: 0.5 });
    expect(daemonFitBytes(10 * MiB)).toBe(Math.floor(10 * MiB * 0.95) - 8 * 1024);
    expect(daemonFitBytes(8 * 1024)).toBe(4 * 1024);
    expect(daemonFitBytes(1)).toBe(1);
  });

  it("a job's GenerateRequest carries that budget as max_clip_bytes, under the interaction's attachment limit", () => {
    const limit = 25 * MiB;
    const surface = new DiscordJobSurface({ adapter, logger: silentLogger, clock: systemClock }, { status: {} as never, host: {} as never, uploadLimitBytes: limit });
    const request = buildGenerateRequest({ prompt: 'a ball', variants: 1 }, { jobId: 'j1', requester: { platform: 'discord', userId: 'u', channelId: 'c' }, adapter: surface.adapter });
    expect(request.maxClipBytes).toBe(daemonFitBytes(limit));
    expect(request.maxClipBytes!).toBeLessThanOrEqual(limit * 0.95 - 8 * 1024);
  });

  it('a clip the daemon fitted only for the headroom is posted as a file, saying it was near the limit', async () => {
    const limit = 10 * MiB;
    const clip: ClipFile = {
      data: Buffer.alloc(daemonFitBytes(limit) - 1),
      mimeType: 'video/mp4',
      format: 'mp4',
      fileName: 'a.mp4',
      width: 32,
      height: 32,
      frames: 5,
      fps: 8,
      fit: { limitBytes: daemonFitBytes(limit), originalBytes: Math.floor(limit * 0.98), qualityStep: 1, downscale: 1, overLimit: false },
    };
    const choice = await chooseUpload(clip, { alternatives: [] } as unknown as ClipInfo, { limitBytes: limit });
    expect(choice.kind).toBe('file');
    expect(choice.notes[0]).toBe('The clip (9.8 MiB) is too close to this server\'s upload limit of 10.0 MiB, so it was re-encoded at lower quality (9.5 MiB).');
  });
});
