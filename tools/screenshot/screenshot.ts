// Makes docs/playground.png: the playground mid-generation in headless Chromium (for the README). A client of a
// daemon like any front-end: the one given by `--daemon HOST:PORT` (or ANIMATE_DAEMON_ADDRESS), else one it starts
// here from the embedded model (ANIMATE_MODELS_DIR, default models/, with ANIMATE_DEFAULT_MODEL, default tiny-world).
// `npm run screenshot -- [out.png] [--daemon HOST:PORT]`. Settings are read through shared/config like everywhere.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { createBotCore } from '../../bots/core/bot.ts';
import { silentLogger } from '../../bots/core/logger.ts';
import { startPlayground } from '../../bots/playground/server.ts';
import { startDaemon } from '../../inference/server/daemon.ts';
import { silentLogger as daemonLogger } from '../../inference/log.ts';
import { loadConfig } from '../../shared/config/index.ts';

/** Two jobs denoise at once in the daemon started here, so the shot shows variants progressing side by side. */
const CONCURRENCY = 2;
/** Denoising steps per clip: enough for the preview to sharpen visibly while the shot is taken. */
const STEPS = 20;
/** How long each wait for the page may take (a clip on a laptop CPU), in ms. */
const WAIT_MS = 120_000;

const args = process.argv.slice(2);
const flag = args.indexOf('--daemon');
const given = flag >= 0 ? args[flag + 1] : undefined;
if (flag >= 0 && !given) {
  console.error('--daemon needs HOST:PORT');
  process.exit(2);
}
const out = path.resolve(args.find((a, i) => !a.startsWith('--') && i !== flag + 1) ?? 'docs/playground.png');
const config = loadConfig(process.env, []);
const remote = given ?? config.daemon.remoteAddress;
const daemon = remote
  ? undefined
  : await startDaemon({ listen: '127.0.0.1:0', modelsDir: config.daemon.modelsDir, defaultModel: config.daemon.defaultModel, logger: daemonLogger, concurrency: CONCURRENCY });
const core = createBotCore({ daemonAddress: remote ?? daemon!.address, token: config.daemon.token, tls: config.daemon.clientTls, logger: silentLogger });
const playground = await startPlayground({ core, port: 0, logger: silentLogger });
const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'pg-shot-chromium-'));
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
  await send(`/animate a red ball bouncing on the grass --seed 42 --steps ${STEPS}`);
  await page.locator('.thread').first().locator('video.clip').waitFor({ timeout: WAIT_MS });
  await page.locator('.thread').first().locator('button[data-action="reply"]').click();
  await send('now at night');
  await page.locator('.thread').first().locator('.bubble').nth(1).locator('video.clip').waitFor({ timeout: WAIT_MS });
  await send('/animate a yellow star spinning at sunset --seed 7 --variants 2');
  // Mid-generation: wait until a preview is showing and the bar is part-way.
  await page.locator('.thread').nth(1).locator('img.preview').first().waitFor({ timeout: WAIT_MS });
  await page.waitForFunction(() => {
    const bar = document.querySelector<HTMLElement>('.thread:nth-of-type(2) .bubble .bar');
    return bar !== null && parseFloat(bar.style.width) >= 30;
  }, undefined, { timeout: WAIT_MS });
  await page.fill('#input', '/animate ');
  await page.evaluate(() => document.getElementById('log')!.scrollTo(0, 1e9));
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await context.close();
  await playground.close();
  await core.close();
  await daemon?.close({ graceMs: 0 });
  rmSync(userDataDir, { recursive: true, force: true });
}
