// Styles in the playground, in Debian's headless Chromium against the real playground server, bot core and a daemon
// serving the LoRA fixture package as "styled": the text command's --style / --style-strength makes a clip whose
// settings line names the style, Reroll keeps it, an unknown style is refused in the bubble naming the model's styles,
// and `/animate help --model styled` lists the styles. (The page has no option controls, so no style picker: the
// text command is the way in, as in Slack.) Skipped, with a note naming what is missing, without Chromium.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createBotCore, type BotCore } from '../../bots/core/bot.ts';
import { silentLogger } from '../../bots/core/logger.ts';
import { startPlayground, type RunningPlayground } from '../../bots/playground/server.ts';
import { buildLoraFixturePackage } from '../fixtures/lora-fixture.ts';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium.ts';
import { startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`[playground/styles.browser] skipped: ${CHROMIUM} is missing (install Debian's chromium: apt-get install chromium).`);

describe.skipIf(!hasChromium)('styles in the playground (headless Chromium)', () => {
  let fx: FixtureDaemon;
  let stylesDir: string;
  let core: BotCore;
  let playground: RunningPlayground;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;

  beforeAll(async () => {
    stylesDir = await mkdtemp(path.join(os.tmpdir(), 'pg-styles-'));
    await buildLoraFixturePackage(path.join(stylesDir, 'styled'), { name: 'styled' });
    fx = await startFixtureDaemon({ daemon: { modelDirs: [path.join(stylesDir, 'styled')] } });
    core = createBotCore({ connection: fx.client, logger: silentLogger });
    playground = await startPlayground({ core, port: 0, logger: silentLogger });
    userDataDir = mkdtempSync(path.join(os.tmpdir(), 'pg-styles-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS], viewport: { width: 900, height: 700 } });
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(playground.url);
    await page.locator('#connection.live').waitFor();
  });
  afterAll(async () => {
    await context?.close();
    await playground?.close();
    await core?.close();
    await fx?.close();
    if (stylesDir) await rm(stylesDir, { recursive: true, force: true });
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  async function send(text: string): Promise<void> {
    await page.fill('#input', text);
    await page.press('#input', 'Enter');
  }

  it('--style and --style-strength: the settings line names them, and Reroll keeps them', async () => {
    const threads = await page.locator('.thread').count();
    await send('/animate a red ball bounces --model styled --style ink --style-strength 1.5 --steps 2 --seed 5');
    const thread = page.locator('.thread').nth(threads);
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
    const before = await page.locator('.bubble').count();
    await send('/animate a ball --model styled --style chalk');
    const error = page.locator('.bubble').nth(before).locator('.status .error');
    await error.waitFor({ timeout: 10_000 });
    expect(await error.textContent()).toBe('style "chalk" is not a style of model styled. Its styles: ink, neon.');
  });

  it('/animate help --model styled lists the styles with their descriptions and examples', async () => {
    const notices = await page.locator('.notice .text').count();
    await send('/animate help --model styled');
    const notice = page.locator('.notice .text').nth(notices);
    await notice.waitFor({ timeout: 10_000 });
    const text = (await notice.textContent()) ?? '';
    expect(text).toContain('Styles of model styled (--style NAME, --style-strength 0–2):');
    expect(text).toContain('ink: ink wash: black strokes on rice paper');
    expect(text).toContain('e.g. /animate a blue bird flies at night --style neon');
  });
});
