// The playground in a real browser: Debian's headless Chromium (playwright-core) against the real playground
// server, bot core and daemon with a fixture model. Skipped, with a note naming what is missing, without Chromium.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { CHROMIUM } from '../helpers/chromium.ts';
import { startBrowserPlayground, type BrowserPlayground } from './browser-setup.ts';

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`[playground/chat.browser] skipped: ${CHROMIUM} is missing (install Debian's chromium: apt-get install chromium).`);

describe.skipIf(!hasChromium)('playground in headless Chromium', () => {
  let pg: BrowserPlayground;
  let page: Page;
  const send = (text: string) => pg.send(text);

  beforeAll(async () => {
    pg = await startBrowserPlayground({ tmpPrefix: 'pg' });
    page = pg.page;
  });
  afterAll(() => pg?.close());

  it('runs /animate: a preview appears, then a <video> that plays, with the settings shown', async () => {
    // Record every preview the page shows (and whether it decoded), since a fast job replaces it with the clip.
    await page.evaluate(() => {
      const seen: Array<{ src: string; width: number }> = [];
      (window as unknown as { previews: typeof seen }).previews = seen;
      new MutationObserver((records) => {
        for (const r of records) {
          const img = r.target instanceof HTMLImageElement ? r.target : r.type === 'childList' ? Array.from(r.addedNodes).find((n): n is HTMLImageElement => n instanceof HTMLImageElement) : undefined;
          if (img?.classList.contains('preview')) img.addEventListener('load', () => seen.push({ src: img.src, width: img.naturalWidth }), { once: true });
        }
      }).observe(document.getElementById('log')!, { subtree: true, childList: true, attributes: true, attributeFilter: ['src'] });
    });
    await send('/animate a red ball bouncing on the grass --seed 42 --steps 24 --model slow');
    const bubble = page.locator('.bubble').first();
    await expect.poll(() => page.evaluate(() => (window as unknown as { previews: unknown[] }).previews.length), { timeout: 30_000 }).toBeGreaterThan(0);
    const [preview] = await page.evaluate(() => (window as unknown as { previews: Array<{ src: string; width: number }> }).previews);
    expect(preview!.width).toBeGreaterThan(0);
    expect(preview!.src).toMatch(/\/media\/.+\.webp$/);

    const video = bubble.locator('video.clip');
    await video.waitFor({ timeout: 60_000 });
    const played = await video.evaluate(
      (v: HTMLVideoElement) =>
        new Promise<{ readyState: number; currentTime: number; error: number | null; loop: boolean; muted: boolean; autoplay: boolean }>((resolve) => {
          const report = () => resolve({ readyState: v.readyState, currentTime: v.currentTime, error: v.error?.code ?? null, loop: v.loop, muted: v.muted, autoplay: v.autoplay });
          const started = performance.now();
          const poll = () => (v.error || (v.readyState >= 2 && v.currentTime > 0) || performance.now() - started > 10_000 ? report() : setTimeout(poll, 50));
          poll();
        }),
    );
    expect(played.error).toBeNull();
    expect(played.readyState).toBeGreaterThanOrEqual(2);
    expect(played.currentTime).toBeGreaterThan(0);
    expect(played).toMatchObject({ loop: true, muted: true, autoplay: true });
    await expect(bubble.locator('.info').textContent()).resolves.toContain('seed 42 · 24 steps');
    expect(await bubble.locator('.actions button').allTextContents()).toEqual(['Reroll', 'Variations', 'Refine', 'Extend', 'Reply in thread']);
  });

  it('reroll makes a new clip with another seed in the same thread; a reply refines the prompt', async () => {
    const thread = page.locator('.thread').first();
    await thread.locator('.bubble').first().locator('button[data-action="reroll"]').click();
    const rerolled = thread.locator('.bubble').nth(1);
    await rerolled.locator('video.clip').waitFor({ timeout: 60_000 });
    const info = await rerolled.locator('.info').textContent();
    expect(info).toMatch(/seed \d+/);
    expect(info).not.toContain('seed 42 ');

    await thread.locator('.bubble').first().locator('button[data-action="reply"]').click();
    await send('make it blue');
    const refined = thread.locator('.bubble').nth(2);
    await refined.locator('video.clip').waitFor({ timeout: 60_000 });
    expect(await refined.locator('.prompt').textContent()).toBe('a blue ball bouncing on the grass');
    expect(await refined.locator('.derived').textContent()).toContain('“make it blue”');
  });

  it('cancel stops a running job and says who cancelled it', async () => {
    await send('/animate a slow ball --model slow --steps 50');
    const bubble = page.locator('.thread').last().locator('.bubble').first();
    await expect.poll(() => bubble.getAttribute('data-state'), { timeout: 30_000 }).toBe('running');
    await bubble.locator('button[data-action="cancel"]').click();
    await expect.poll(() => bubble.getAttribute('data-state'), { timeout: 30_000 }).toBe('cancelled');
    expect(await bubble.locator('.status').textContent()).toBe('Cancelled by you.');
    expect(await bubble.locator('video').count()).toBe(0);
  });

  it('several requests at once, and bad options get a message naming the option', async () => {
    const before = await page.locator('.thread').count();
    await send('/animate a green cube --steps 3 --variants 2');
    await send('/animate a yellow star --steps 200');
    await page.locator('.thread').nth(before + 1).locator('.bubble .error').waitFor();
    expect(await page.locator('.thread').nth(before + 1).locator('.bubble .error').textContent()).toContain('steps must be a whole number from 1 to 50');
    const variants = page.locator('.thread').nth(before).locator('.bubble');
    await variants.nth(1).locator('video.clip').waitFor({ timeout: 60_000 });
    await variants.nth(0).locator('video.clip').waitFor({ timeout: 60_000 });
    expect(await variants.count()).toBe(2);
  });
});
