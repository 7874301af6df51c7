// Makes docs/playground.png: the playground mid-generation in headless Chromium (for the README).
// Uses the embedded model (models/tiny-world) when it is there, else a fixture model package (test/fixtures), so it
// works anywhere: `npx tsx bots/playground/screenshot.ts [out.png] [--fixture]`.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { createBotCore } from '../core/bot.ts';
import { silentLogger } from '../core/logger.ts';
import { startPlayground } from './server.ts';
import { buildFixturePackage } from '../../test/fixtures/fixture-model.ts';
import { startDaemon } from '../../inference/server/daemon.ts';
import { silentLogger as daemonLogger } from '../../inference/log.ts';

const args = process.argv.slice(2);
const out = path.resolve(args.find((a) => !a.startsWith('--')) ?? 'docs/playground.png');
const useEmbedded = !args.includes('--fixture') && existsSync(path.resolve('models/tiny-world/model_index.json'));
const modelsDir = useEmbedded ? path.resolve('models') : mkdtempSync(path.join(os.tmpdir(), 'pg-shot-models-'));
const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'pg-shot-chromium-'));
if (!useEmbedded) await buildFixturePackage(path.join(modelsDir, 'fixture'), { name: 'fixture', burnMatmuls: 40, defaults: { width: 96, height: 96, frames: 9, steps: 40 } });
const daemon = await startDaemon({ listen: '127.0.0.1:0', modelsDir, logger: daemonLogger, concurrency: 2 });
const core = createBotCore({ daemonAddress: daemon.address, logger: silentLogger });
const playground = await startPlayground({ core, port: 0, logger: silentLogger });
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 900, height: 1000 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(playground.url);
  await page.locator('#connection.live').waitFor();
  const send = async (text: string) => {
    await page.fill('#input', text);
    await page.press('#input', 'Enter');
  };
  await send(`/animate a red ball bouncing on the grass --seed 42 --steps ${useEmbedded ? 20 : 8}`);
  await page.locator('.thread').first().locator('video.clip').waitFor({ timeout: 120_000 });
  await page.locator('.thread').first().locator('button[data-action="reply"]').click();
  await send('now at night');
  await page.locator('.thread').first().locator('.bubble').nth(1).locator('video.clip').waitFor({ timeout: 120_000 });
  await send(useEmbedded ? '/animate a yellow star spinning at sunset --seed 7 --variants 2' : '/animate a blue cube rolling on the sand --seed 7 --variants 2');
  // Mid-generation: wait until a preview is showing and the bar is part-way.
  await page.locator('.thread').nth(1).locator('img.preview').first().waitFor({ timeout: 120_000 });
  await page.waitForFunction(() => {
    const bar = document.querySelector<HTMLElement>('.thread:nth-of-type(2) .bubble .bar');
    return bar !== null && parseFloat(bar.style.width) >= 30;
  }, undefined, { timeout: 120_000 });
  await page.fill('#input', '/animate ');
  await page.evaluate(() => document.getElementById('log')!.scrollTo(0, 1e9));
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await context.close();
  await playground.close();
  await core.close();
  await daemon.close({ graceMs: 0 });
  if (!useEmbedded) rmSync(modelsDir, { recursive: true, force: true });
  rmSync(userDataDir, { recursive: true, force: true });
}
