// Image-to-video and Extend in the playground, in a real browser: Debian's headless Chromium (playwright-core)
// drives the real page against the real playground server, bot core and daemon with a fixture model. An image is
// dropped on the page (a real drop event carrying a File) or chosen with the 📎 input; what reached the daemon is
// read from a recording connection, byte for byte. Skipped, with a note naming what is missing, without Chromium.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createBotCore, type BotCore } from '../../bots/core/bot.ts';
import { silentLogger } from '../../bots/core/logger.ts';
import { startPlayground, type RunningPlayground } from '../../bots/playground/server.ts';
import { buildWanFixturePackage } from '../fixtures/wan-fixture.ts';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium.ts';
import { startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';
import { pngImage, recordingConnection, type RecordingConnection } from '../helpers/test-images.ts';

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`[playground/image.browser] skipped: ${CHROMIUM} is missing (install Debian's chromium: apt-get install chromium).`);

describe.skipIf(!hasChromium)('playground images in headless Chromium', () => {
  let fx: FixtureDaemon;
  let recorder: RecordingConnection;
  let core: BotCore;
  let playground: RunningPlayground;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  let wanDir: string;

  beforeAll(async () => {
    // The default fixture model takes no image; "wan" (the Wan2.2-TI2V-shaped fixture) has a vae_encoder and does.
    wanDir = await mkdtemp(path.join(os.tmpdir(), 'pg-wan-'));
    await buildWanFixturePackage(path.join(wanDir, 'wan'), { name: 'wan' });
    fx = await startFixtureDaemon({ fixture: { defaults: { width: 32, height: 32, frames: 5, steps: 2 } }, daemon: { modelDirs: [path.join(wanDir, 'wan')] } });
    recorder = recordingConnection(fx.client);
    core = createBotCore({ connection: recorder, logger: silentLogger });
    playground = await startPlayground({ core, port: 0, logger: silentLogger });
    userDataDir = mkdtempSync(path.join(os.tmpdir(), 'pg-chromium-img-'));
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS] });
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(playground.url);
    await page.locator('#connection.live').waitFor();
  });
  afterAll(async () => {
    await context?.close();
    await playground?.close();
    await core?.close();
    await fx?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    if (wanDir) await rm(wanDir, { recursive: true, force: true });
  });

  /** Drops a file on the page as a person dragging it from their desktop would (dragenter, dragover, drop). */
  async function drop(bytes: Buffer, name: string, type: string): Promise<void> {
    const transfer = await page.evaluateHandle(({ b64, name, type }) => {
      const bin = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bin], name, { type }));
      return dt;
    }, { b64: bytes.toString('base64'), name, type });
    for (const event of ['dragenter', 'dragover', 'drop']) await page.dispatchEvent('#log', event, { dataTransfer: transfer });
  }

  async function send(text: string): Promise<void> {
    await page.fill('#input', text);
    await page.press('#input', 'Enter');
  }

  const sentCount = () => recorder.sent.length;
  const waitForRequest = async (after: number) => {
    const deadline = Date.now() + 30_000;
    while (recorder.sent.length <= after) {
      if (Date.now() > deadline) throw new Error('no GenerateRequest within 30 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    return recorder.sent[after]!;
  };

  it('a dropped image shows as attached and is sent with the message, byte for byte', async () => {
    const png = pngImage(24, 24, (x, y) => [x * 10, 100, y * 10]);
    await drop(png, 'dropped.png', 'image/png');
    await page.locator('#attachment:not([hidden])').waitFor();
    expect(await page.textContent('#attachment-name')).toBe('dropped.png');
    const before = sentCount();
    await send('/animate a red ball bounces --seed 11');
    const request = await waitForRequest(before);
    expect(Buffer.from(request.image as Uint8Array).equals(png)).toBe(true);
    expect(request.imageMimeType).toBe('image/png');
    expect(request.prompt).toBe('a red ball bounces');
    expect(request.seed).toBe(11);
    // The person's message says an image went with it; the composer is clear for the next one.
    await page.locator('.msg.user .attached', { hasText: 'dropped.png' }).waitFor();
    expect(await page.isHidden('#attachment')).toBe(true);
    await page.locator('.bubble[data-state="done"], .bubble[data-state="failed"]').first().waitFor({ timeout: 60_000 });
  });

  it('an image chosen with the 📎 input goes too; a message without one carries none', async () => {
    const jpegLike = pngImage(16, 16, () => [0, 200, 0]);
    await page.setInputFiles('#image-file', { name: 'chosen.png', mimeType: 'image/png', buffer: jpegLike });
    await page.locator('#attachment:not([hidden])').waitFor();
    let before = sentCount();
    await send('a green heart falls');
    const withImage = await waitForRequest(before);
    expect(Buffer.from(withImage.image as Uint8Array).equals(jpegLike)).toBe(true);
    expect(withImage.prompt).toBe('a green heart falls');
    before = sentCount();
    await send('/animate a blue star spins');
    const plain = await waitForRequest(before);
    expect(plain.image ?? Buffer.alloc(0)).toHaveLength(0);
  });

  it('refuses a file that is not an image, in the page and at the server', async () => {
    await drop(Buffer.from('plain text'), 'notes.txt', 'text/plain');
    await page.locator('.notice.error', { hasText: '"notes.txt" is not a PNG, JPEG, WebP or GIF image.' }).waitFor();
    expect(await page.isHidden('#attachment')).toBe(true);
    // A page that skips its own check still meets the server's: by the bytes, whatever the name says.
    const answer = await page.evaluate(async (session) => {
      const res = await fetch('/api/message', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session, text: 'a ball', image: { data: btoa('GIF? no, text'), name: 'fake.png' } }) });
      return { status: res.status, body: await res.json() };
    }, await page.evaluate(() => sessionStorage.getItem('animate-session')));
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('The image "fake.png" is not a PNG, JPEG, WebP or GIF image.');
  });

  /** Starts a clip, waits until it is done, and returns its request, thread and Extend button. */
  async function doneClip(text: string) {
    const before = sentCount();
    await send(text);
    const request = await waitForRequest(before);
    const thread = page.locator('section.thread').last();
    const bubble = thread.locator('.bubble[data-state="done"]').first();
    await bubble.waitFor({ timeout: 60_000 });
    return { request, thread, extend: bubble.locator('button[data-action="extend"]') };
  }

  it('Extend continues the clip from its last frame, in the same thread, with a new seed', async () => {
    const { request: first, thread, extend } = await doneClip('/animate a red ball rolls --seed 21 --model wan --steps 2');
    await extend.waitFor();
    const lastFrame = core.jobs.get(first.requestId!)?.result?.lastFrame;
    expect(lastFrame?.length, 'the daemon sent the clip’s last frame').toBeGreaterThan(0);
    const pressedAt = sentCount();
    await extend.click();
    const extended = await waitForRequest(pressedAt);
    expect(Buffer.from(extended.image as Uint8Array).equals(lastFrame!)).toBe(true);
    expect(extended.imageMimeType).toBe('image/png');
    expect(extended.prompt).toBe('a red ball rolls');
    expect(extended.model).toBe('wan');
    expect(extended.seed).not.toBe(21);
    // The continuation is a new bubble in the same thread, labelled as such, and it can be extended again.
    const second = thread.locator('.bubble').nth(1);
    await second.locator('button[data-action="extend"]').waitFor({ timeout: 60_000 });
    expect(await second.getAttribute('data-state')).toBe('done');
    expect(await second.textContent()).toContain('Extended: a red ball rolls');
    console.log(`extend: last frame ${lastFrame!.length} bytes PNG; seeds ${first.seed} → ${extended.seed}`);
  });

  it('Extend on a model that takes no image says so in words for the person', async () => {
    const { thread, extend } = await doneClip('/animate a blue star spins --seed 5');
    await extend.waitFor();
    await extend.click();
    const failed = thread.locator('.bubble[data-state="failed"]');
    await failed.waitFor({ timeout: 30_000 });
    expect(await failed.textContent()).toContain('Extend needs a model that can start a clip from an image, and "fixture" cannot');
  });
});
