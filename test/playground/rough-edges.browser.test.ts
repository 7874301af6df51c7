// The playground's rough edges of issue #24, each checked in Debian's headless Chromium against the real playground
// server, bot core and daemon (fixture model): the download link's contrast (computed from the page's styles), the
// variant labels, a mistyped command, the cue for a clip that lands off-screen, the queue wording, and flags in the
// help that never break across lines. Skipped, with a note naming what is missing, without Chromium.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { CHROMIUM } from '../helpers/chromium.ts';
import { startBrowserPlayground, type BrowserPlayground } from './browser-setup.ts';

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`[playground/rough-edges.browser] skipped: ${CHROMIUM} is missing (install Debian's chromium: apt-get install chromium).`);

/** WCAG 2 contrast ratio of two CSS colours as getComputedStyle writes them ("rgb(r, g, b)" / "rgba(…)"). */
function contrastRatio(a: string, b: string): number {
  const luminance = (css: string): number => {
    const [r, g, bl] = (css.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number).map((v) => {
      const c = v / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    }) as [number, number, number];
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

describe.skipIf(!hasChromium)('playground rough edges in headless Chromium', () => {
  let pg: BrowserPlayground;
  let page: Page;
  const send = (text: string) => pg.send(text);

  beforeAll(async () => {
    // One slot: a second request waits behind the first, so the queue wording can be seen.
    pg = await startBrowserPlayground({ tmpPrefix: 'pg-edges', concurrency: 1, viewport: { width: 900, height: 560 } });
    page = pg.page;
    // Every status line each bubble showed, in order (a fast job replaces its queue line within milliseconds).
    await page.evaluate(() => {
      const seen: Record<string, string[]> = {};
      (window as unknown as { statuses: typeof seen }).statuses = seen;
      new MutationObserver(() => {
        for (const node of Array.from(document.querySelectorAll<HTMLElement>('.bubble'))) {
          const text = node.querySelector('.status')?.textContent ?? '';
          const list = (seen[node.dataset.bubble ?? '?'] ??= []);
          if (text && list.at(-1) !== text) list.push(text);
        }
      }).observe(document.getElementById('log')!, { subtree: true, childList: true, characterData: true });
    });
  });
  afterAll(() => pg?.close());

  const statuses = (bubble: string): Promise<string[]> => page.evaluate((id) => (window as unknown as { statuses: Record<string, string[]> }).statuses[id] ?? [], bubble);

  it('the download link is readable on the dark page: contrast at least 4.5:1, from the computed styles', async () => {
    await send('/animate a red ball bouncing --steps 3');
    const bubble = page.locator('.thread').last().locator('.bubble').first();
    await bubble.locator('video.clip').waitFor({ timeout: 60_000 });
    const { color, background } = await bubble.locator('.info a.download').evaluate((a) => {
      // The colour painted behind the link: the nearest ancestor with an opaque background.
      let node: Element | null = a;
      let bg = 'rgba(0, 0, 0, 0)';
      while (node && /rgba\(.*, 0\)$|transparent/.test(bg)) {
        bg = getComputedStyle(node).backgroundColor;
        node = node.parentElement;
      }
      return { color: getComputedStyle(a).color, background: bg };
    });
    const ratio = contrastRatio(color, background);
    console.log(`[rough-edges] download link ${color} on ${background}: contrast ${ratio.toFixed(2)}:1`);
    expect(ratio).toBeGreaterThanOrEqual(4.5);
    expect(await bubble.locator('.info a.download').getAttribute('download')).toMatch(/\.mp4$/);
  });

  it('labels every variant the same way: "Variant 1 of 3", "Variant 2 of 3", "Variant 3 of 3"', async () => {
    await send('/animate a green box --steps 2 --variants 3');
    const bubbles = page.locator('.thread').last().locator('.bubble');
    await expect.poll(() => bubbles.count(), { timeout: 30_000 }).toBe(3);
    expect(await bubbles.locator('.name small').allTextContents()).toEqual(['Variant 1 of 3', 'Variant 2 of 3', 'Variant 3 of 3']);
    for (let i = 0; i < 3; i++) await bubbles.nth(i).locator('video.clip').waitFor({ timeout: 60_000 });
  });

  it('a mistyped command is answered with the nearest one and never refines the thread clip', async () => {
    // Locators are evaluated lazily: fix the thread by its index, before new threads come after it.
    const lastThread = page.locator('.thread').nth((await page.locator('.thread').count()) - 1);
    // Replying in that thread, as a person who just watched the clip would be.
    await lastThread.locator('.bubble').first().locator('button[data-action="reply"]').click();
    const bubblesBefore = await page.locator('.bubble').count();
    const threadsBefore = await page.locator('.thread').count();
    await send('/animat a blue star');
    const notice = page.locator('.thread').nth(threadsBefore).locator('.notice.error .text');
    await notice.waitFor({ timeout: 10_000 });
    expect(await notice.textContent()).toBe('Unknown command /animat. Did you mean /animate?');
    // The reply came back with the notice: a refinement would have added its bubble by now.
    expect(await page.locator('.bubble').count()).toBe(bubblesBefore);
    expect(await lastThread.locator('.msg.user .text').allTextContents()).toEqual(['/animate a green box --steps 2 --variants 3']);

    await send('/frobnicate');
    const other = page.locator('.thread').nth(threadsBefore + 1).locator('.notice.error .text');
    await other.waitFor({ timeout: 10_000 });
    expect(await other.textContent()).toBe('Unknown command /frobnicate. Commands: /animate, /help (/animate help lists the options).');
    await page.click('#stop-reply');
  });

  it('says "Starting…" with nothing ahead, "Next in queue" behind a running job, then the position', async () => {
    const first = await page.locator('.bubble').count();
    await send('/animate a slow ball --model slow --steps 30');
    await expect.poll(() => page.locator('.bubble').count(), { timeout: 10_000 }).toBe(first + 1);
    await expect.poll(() => page.locator('.bubble').nth(first).getAttribute('data-state'), { timeout: 30_000 }).toBe('running');
    await send('/animate a slow box --model slow --steps 2');
    await send('/animate a slow star --model slow --steps 2');
    const ids = async (): Promise<string[]> => page.locator('.bubble').evaluateAll((nodes) => nodes.map((n) => (n as HTMLElement).dataset.bubble ?? ''));
    await expect.poll(async () => (await ids()).length, { timeout: 10_000 }).toBe(first + 3);
    const [a, b, c] = (await ids()).slice(first) as [string, string, string];
    for (const id of [a, b, c]) await page.locator(`.bubble[data-bubble="${id}"] video.clip`).waitFor({ timeout: 90_000 });
    // The lines after the page's own "Accepted…": what the queue events said first.
    const told = async (id: string): Promise<string[]> => (await statuses(id)).filter((s) => s !== 'Accepted…');
    const [sa, sb, sc] = [await told(a), await told(b), await told(c)];
    console.log(`[rough-edges] status lines:\n  first:  ${sa.slice(0, 3).join(' | ')}\n  second: ${sb.slice(0, 3).join(' | ')}\n  third:  ${sc.slice(0, 3).join(' | ')}`);
    expect(sa.filter((s) => /queue/i.test(s))).toEqual([]);
    expect(sa[0]).toBe('Starting…');
    expect(sb[0]).toMatch(/^Next in queue( · starts in ≈ (<1|\d+) s)?$/);
    expect(sc[0]).toMatch(/^In queue: position 2( · starts in ≈ (<1|\d+) s)?$/);
  });

  it('a clip that lands in an older thread off-screen gets a "New clip above ↑" chip that scrolls to it', async () => {
    const threads = await page.locator('.thread').count();
    await send('/animate a slow heart --model slow --steps 50');
    const thread = page.locator('.thread').nth(threads);
    const bubble = thread.locator('.bubble').first();
    await bubble.waitFor({ timeout: 10_000 });
    // Three long help texts below it push the thread out of view while it denoises.
    for (let i = 0; i < 3; i++) await send('/animate help');
    await expect.poll(() => page.locator('.notice.info').count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    const side = (): Promise<string> =>
      bubble.evaluate((node) => {
        const box = document.getElementById('log')!.getBoundingClientRect();
        const r = node.getBoundingClientRect();
        return r.bottom <= box.top ? 'above' : r.top >= box.bottom ? 'below' : 'visible';
      });
    expect(await bubble.getAttribute('data-state')).not.toBe('done');
    expect(await side()).toBe('above');
    expect(await page.locator('#new-clip').isHidden()).toBe(true);

    await bubble.locator('video.clip').waitFor({ state: 'attached', timeout: 90_000 });
    const chip = page.locator('#new-clip');
    await chip.waitFor({ state: 'visible', timeout: 5_000 });
    expect(await chip.textContent()).toBe('New clip above ↑');
    await chip.click();
    await expect.poll(side, { timeout: 5_000 }).toBe('visible');
    expect(await chip.isHidden()).toBe(true);
  });

  it('never breaks a flag of the help across lines, at any page width from 320 to 900 px', async () => {
    const notices = await page.locator('.notice.info').count();
    await send('/animate help');
    const help = page.locator('.notice.info .text').nth(notices);
    await help.waitFor({ timeout: 10_000 });
    expect(await help.textContent()).toContain('--negative');
    // The page's width set from inside (one round trip, not 97 viewport resizes); line breaking is the same.
    const { splitAt, checked, widths } = await help.evaluate((node) => {
      const texts: Text[] = [];
      const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
      for (let t = walker.nextNode(); t; t = walker.nextNode()) texts.push(t as Text);
      const whole = texts.map((t) => t.data).join('');
      const at = (offset: number): [Text, number] => {
        let rest = offset;
        for (const t of texts) {
          if (rest <= t.data.length) return [t, rest];
          rest -= t.data.length;
        }
        return [texts.at(-1)!, texts.at(-1)!.data.length];
      };
      // Every "--flag" of the text as a DOM range over its text nodes: one that wraps has boxes on two lines.
      const ranges = [...whole.matchAll(/--[A-Za-z][A-Za-z0-9-]*/g)].map((m) => {
        const range = document.createRange();
        range.setStart(...at(m.index));
        range.setEnd(...at(m.index + m[0].length));
        return { flag: m[0], range };
      });
      const out: string[] = [];
      let count = 0;
      let n = 0;
      for (let width = 320; width <= 900; width += 6, n++) {
        document.body.style.width = `${width}px`;
        const split = ranges.filter(({ range }) => new Set(Array.from(range.getClientRects()).filter((r) => r.width > 0).map((r) => Math.round(r.top))).size > 1);
        count += ranges.length;
        if (split.length) out.push(`${width}px: ${split.map((s) => s.flag).join(', ')}`);
      }
      document.body.style.width = '';
      return { splitAt: out, checked: count, widths: n };
    });
    console.log(`[rough-edges] help flags checked at ${widths} widths: ${checked} flag placements, ${splitAt.length} widths with a split flag${splitAt.length ? `: ${splitAt.slice(0, 3).join('; ')}` : ''}`);
    expect(widths).toBe(97);
    expect(checked).toBeGreaterThan(97 * 5);
    expect(splitAt).toEqual([]);
  });
});
