// Image-to-video and Extend in the playground, in a real browser: Debian's headless Chromium (playwright-core)
// drives the real page against the real playground server, bot core and daemon with a fixture model. An image is
// dropped on the page (a real drop event carrying a File) or chosen with the 📎 input; what reached the daemon is
// read from a recording connection, byte for byte. Skipped, with a note naming what is missing, without Chromium.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWanFixturePackage } from '../fixtures/wan-fixture.ts';
import { CHROMIUM } from '../helpers/chromium.ts';
import { pngImage, recordingConnection, type RecordingConnection } from '../helpers/test-images.ts';
import { startBrowserPlayground, type BrowserPlayground } from './browser-setup.ts';

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`[playground/image.browser] skipped: ${CHROMIUM} is missing (install Debian's chromium: apt-get install chromium).`);

describe.skipIf(!hasChromium)('playground images in headless Chromium', () => {
  let pg: BrowserPlayground;
  let recorder: RecordingConnection;
  beforeAll(async () => {
    // The default fixture model takes no image; "wan" (the Wan2.2-TI2V-shaped fixture) has a vae_encoder and does.
    pg = await startBrowserPlayground({
      tmpPrefix: 'pg-img',
      models: { wan: (dir) => buildWanFixturePackage(dir, { name: 'wan' }) },
      connection: (c) => (recorder = recordingConnection(c)),
    });
  });
  afterAll(() => pg?.close());
  const send = (text: string) => pg.send(text);

  /** Drops a file on the page as a person dragging it from their desktop would (dragenter, dragover, drop). */
  async function drop(bytes: Buffer, name: string, type: string): Promise<void> {
    const transfer = await pg.page.evaluateHandle(({ b64, name, type }) => {
      const bin = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bin], name, { type }));
      return dt;
    }, { b64: bytes.toString('base64'), name, type });
    for (const event of ['dragenter', 'dragover', 'drop']) await pg.page.dispatchEvent('#log', event, { dataTransfer: transfer });
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
    await pg.page.locator('#attachment:not([hidden])').waitFor();
    expect(await pg.page.textContent('#attachment-name')).toBe('dropped.png');
    const before = sentCount();
    await send('/animate a red ball bounces --seed 11');
    const request = await waitForRequest(before);
    expect(Buffer.from(request.image as Uint8Array).equals(png)).toBe(true);
    expect(request.imageMimeType).toBe('image/png');
    expect(request.prompt).toBe('a red ball bounces');
    expect(request.seed).toBe(11);
    // The person's message says an image went with it; the composer is clear for the next one.
    await pg.page.locator('.msg.user .attached', { hasText: 'dropped.png' }).waitFor();
    expect(await pg.page.isHidden('#attachment')).toBe(true);
    await pg.page.locator('.bubble[data-state="done"], .bubble[data-state="failed"]').first().waitFor({ timeout: 60_000 });
  });

  it('an image chosen with the 📎 input goes too; a message without one carries none', async () => {
    const jpegLike = pngImage(16, 16, () => [0, 200, 0]);
    await pg.page.setInputFiles('#image-file', { name: 'chosen.png', mimeType: 'image/png', buffer: jpegLike });
    await pg.page.locator('#attachment:not([hidden])').waitFor();
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
    await pg.page.locator('.notice.error', { hasText: '"notes.txt" is not a PNG, JPEG, WebP or GIF image.' }).waitFor();
    expect(await pg.page.isHidden('#attachment')).toBe(true);
    // A page that skips its own check still meets the server's: by the bytes, whatever the name says.
    const answer = await pg.page.evaluate(async (session) => {
      const res = await fetch('/api/message', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session, text: 'a ball', image: { data: btoa('GIF? no, text'), name: 'fake.png' } }) });
      return { status: res.status, body: await res.json() };
    }, await pg.page.evaluate(() => sessionStorage.getItem('animate-session')));
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('The image "fake.png" is not a PNG, JPEG, WebP or GIF image.');
  });

  /** Starts a clip, waits until it is done, and returns its request, thread and Extend button. */
  async function doneClip(text: string) {
    const before = sentCount();
    await send(text);
    const request = await waitForRequest(before);
    const thread = pg.page.locator('section.thread').last();
    const bubble = thread.locator('.bubble[data-state="done"]').first();
    await bubble.waitFor({ timeout: 60_000 });
    return { request, thread, extend: bubble.locator('button[data-action="extend"]') };
  }

  it('Extend continues the clip from its last frame, in the same thread, with a new seed', async () => {
    const { request: first, thread, extend } = await doneClip('/animate a red ball rolls --seed 21 --model wan --steps 2');
    await extend.waitFor();
    const lastFrame = pg.core.jobs.get(first.requestId!)?.result?.lastFrame;
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
