// `npm start` honours every daemon setting it validates (issue #24 opened with one validated and ignored): the
// embedded daemon's options read back from the shared configuration, for the settings `npm run daemon` alone used to
// take (ANIMATE_STYLE_CACHE_MB, ANIMATE_GUIDANCE_PASSES), with their defaults from the settings table.
import { describe, expect, it } from 'vitest';
import { embeddedDaemonOptions } from '../../app/daemon.ts';
import { silentLogger } from '../../inference/log.ts';
import { daemonOptionsFrom } from '../../inference/cli/daemon-options.ts';
import { loadConfig } from '../../shared/config/index.ts';
import { DEFAULT_STYLE_CACHE_MB } from '../../shared/wire/styles.ts';
import { DEFAULT_PREVIEW_MIN_INTERVAL_MS } from '../../shared/wire/previews.ts';

const options = (env: Record<string, string>) => embeddedDaemonOptions(loadConfig(env, [], { dotenv: false }), { logger: silentLogger });

describe('npm start passes the daemon settings', () => {
  it('ANIMATE_STYLE_CACHE_MB and ANIMATE_GUIDANCE_PASSES as set', () => {
    const o = options({ ANIMATE_STYLE_CACHE_MB: '17', ANIMATE_GUIDANCE_PASSES: '2' });
    expect([o.styleCacheMb, o.guidancePasses]).toEqual([17, 2]);
    expect(options({ ANIMATE_GUIDANCE_PASSES: '1' }).guidancePasses).toBe(1);
  });

  it('and their defaults: the table\'s cache size (256 MiB, written once), each package\'s own guidance passes', () => {
    const o = options({});
    expect(o.styleCacheMb).toBe(DEFAULT_STYLE_CACHE_MB);
    expect(DEFAULT_STYLE_CACHE_MB).toBe(256);
    expect('guidancePasses' in o).toBe(false);
  });

  it('the same as npm run daemon reads them', () => {
    const env = { ANIMATE_STYLE_CACHE_MB: '33', ANIMATE_GUIDANCE_PASSES: '2', ANIMATE_PROVENANCE_PROMPTS: 'true', ANIMATE_PREVIEW_INTERVAL_MS: '40' };
    const fromCli = daemonOptionsFrom({}, env);
    const fromStart = options(env);
    const read = (o: typeof fromCli) => [o.styleCacheMb, o.guidancePasses, o.provenancePrompts, o.previewIntervalMs];
    expect(read(fromStart)).toEqual(read(fromCli));
    expect(read(fromCli)).toEqual([33, 2, true, 40]);
    expect(daemonOptionsFrom({ 'preview-interval-ms': '0' }, {}).previewIntervalMs).toBe(0);
    expect(options({}).previewIntervalMs).toBe(DEFAULT_PREVIEW_MIN_INTERVAL_MS);
  });
});
