// Styles in the playground, in Debian's headless Chromium against the real playground server, bot core and a daemon
// serving the LoRA fixture package as "styled": the text command's --style / --style-strength makes a clip whose
// settings line names the style, Reroll keeps it, an unknown style is refused in the bubble naming the model's styles,
// and `/animate help --model styled` lists the styles. (The page has no option controls, so no style picker: the
// text command is the way in, as in Slack.) Skipped, with a note naming what is missing, without Chromium.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLoraFixturePackage } from '../fixtures/lora-fixture.ts';
import { CHROMIUM } from '../helpers/chromium.ts';
import { startBrowserPlayground, type BrowserPlayground } from './browser-setup.ts';

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`[playground/styles.browser] skipped: ${CHROMIUM} is missing (install Debian's chromium: apt-get install chromium).`);

describe.skipIf(!hasChromium)('styles in the playground (headless Chromium)', () => {
  let pg: BrowserPlayground;
  beforeAll(async () => {
    pg = await startBrowserPlayground({
      tmpPrefix: 'pg-styles',
      viewport: { width: 900, height: 700 },
      models: { styled: (dir) => buildLoraFixturePackage(dir, { name: 'styled' }) },
    });
  });
  afterAll(() => pg?.close());
  const send = (text: string) => pg.send(text);

  it('--style and --style-strength: the settings line names them, and Reroll keeps them', async () => {
    const threads = await pg.page.locator('.thread').count();
    await send('/animate a red ball bounces --model styled --style ink --style-strength 1.5 --steps 2 --seed 5');
    const thread = pg.page.locator('.thread').nth(threads);
    const first = thread.locator('.bubble').first();
    await first.locator('video.clip').waitFor({ timeout: 60_000 });
    const info = await first.locator('.info').textContent();
    console.log(`settings line: ${info}`);
    expect(info).toContain('· styled · style ink at 1.5');
    await first.locator('button[data-action="reroll"]').click();
    const second = thread.locator('.bubble').nth(1);
    await second.locator('video.clip').waitFor({ timeout: 60_000 });
    expect(await second.locator('.info').textContent()).toContain('· styled · style ink at 1.5');
  });

  it('an unknown style is refused in the bubble, naming the model\'s styles', async () => {
    const before = await pg.page.locator('.bubble').count();
    await send('/animate a ball --model styled --style chalk');
    const error = pg.page.locator('.bubble').nth(before).locator('.status .error');
    await error.waitFor({ timeout: 10_000 });
    expect(await error.textContent()).toBe('style "chalk" is not a style of model styled. Its styles: ink, neon.');
  });

  it('/animate help --model styled lists the styles with their descriptions and examples', async () => {
    const notices = await pg.page.locator('.notice .text').count();
    await send('/animate help --model styled');
    const notice = pg.page.locator('.notice .text').nth(notices);
    await notice.waitFor({ timeout: 10_000 });
    const text = (await notice.textContent()) ?? '';
    expect(text).toContain('Styles of model styled (--style NAME, --style-strength 0–2):');
    expect(text).toContain('ink: ink wash: black strokes on rice paper');
    expect(text).toContain('e.g. /animate a blue bird flies at night --style neon');
  });
});
