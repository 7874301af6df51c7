// Cross-site attacks on the playground from a real browser: Debian's headless Chromium loads a page from ANOTHER
// origin (a second tiny HTTP server: 127.0.0.1 on another port, which is same-site, and localhost, which is
// cross-site) whose script tries everything a hostile page can do without the person's help (a no-cors text/plain
// fetch, a JSON fetch that needs a preflight, sendBeacon, EventSource on a session's events, a text/plain form
// carrying JSON and a urlencoded form), plus a DNS-rebinding name resolving to the playground. The playground must
// answer 403 to each, the bot core must hold no job and the daemon must run nothing, while the playground's own page
// still runs a clip. Skipped, with a note naming what is missing, without Chromium.
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { createBotCore, type BotCore } from '../../bots/core/bot.ts';
import { silentLogger, type Logger } from '../../bots/core/logger.ts';
import { startPlayground, type RunningPlayground } from '../../bots/playground/server.ts';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium.ts';
import { startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';

const REBIND_NAME = 'rebind.test';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`[playground/origin.browser] skipped: ${CHROMIUM} is missing (install Debian's chromium: apt-get install chromium).`);

/** The attacker's page: forms ready to submit into frames, and a script that runs the other attacks on demand. */
function attackerPage(playground: string): string {
  const json = JSON.stringify({ session: 'victimform1', text: '/animate a job started by a text/plain form', pad: '' });
  // enctype=text/plain sends name=value; this name and value make the body the JSON above, the classic trick.
  const name = json.slice(0, -3);
  return `<!doctype html><html><body>
<iframe name="sink1"></iframe><iframe name="sink2"></iframe>
<form id="plain" method="POST" action="${playground}api/message" enctype="text/plain" target="sink1"><input name='${name}' value='"}'></form>
<form id="urlencoded" method="POST" action="${playground}api/message" target="sink2"><input name="session" value="victimform2"><input name="text" value="/animate a job started by a form"></form>
<script>
window.attack = async (pg) => {
  const body = JSON.stringify({ session: 'victimfetch1', text: '/animate a job started by another page' });
  const out = {};
  try { out.noCors = (await fetch(pg + 'api/message', { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body })).type; } catch (e) { out.noCors = 'failed'; }
  try { await fetch(pg + 'api/message', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body }); out.cors = 'readable'; } catch (e) { out.cors = 'blocked'; }
  out.beacon = navigator.sendBeacon(pg + 'api/message', new Blob([body], { type: 'text/plain' }));
  out.events = await new Promise((resolve) => {
    const es = new EventSource(pg + 'events?session=victimfetch1');
    const end = (how) => { es.close(); resolve(how); };
    es.onopen = () => end('open');
    es.onerror = () => end('error');
    setTimeout(() => end('timeout'), 15000);
  });
  document.getElementById('plain').submit();
  document.getElementById('urlencoded').submit();
  return out;
};
</script></body></html>`;
}

describe.skipIf(!hasChromium)('playground refuses cross-site requests in headless Chromium', () => {
  let fx: FixtureDaemon;
  let core: BotCore;
  let playground: RunningPlayground;
  let attacker: http.Server;
  let attackerPort: number;
  let browser: Browser;
  let context: BrowserContext;
  /** Prompts of every generation the daemon ran. */
  const generated: string[] = [];
  /** What the playground refused, from its own log: "METHOD /path STATUS: code". */
  const refusals: string[] = [];
  /** Every response the browser got from the playground's port: "METHOD /path STATUS". */
  const responses: string[] = [];
  const logger: Logger = { ...silentLogger, debug: (m) => m.startsWith('refused ') && refusals.push(m.slice('refused '.length)) };

  beforeAll(async () => {
    fx = await startFixtureDaemon({ fixture: { defaults: { width: 32, height: 32, frames: 5, steps: 4 } }, daemon: { onGenerationReport: (_r, job) => generated.push(job.spec.prompt) } });
    core = createBotCore({ connection: fx.client, logger: silentLogger });
    playground = await startPlayground({ core, port: 0, logger });
    attacker = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(attackerPage(playground.url));
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    attackerPort = (attacker.address() as AddressInfo).port;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, `--host-resolver-rules=MAP ${REBIND_NAME} 127.0.0.1`] });
    context = await browser.newContext();
    context.on('response', (res) => {
      const url = new URL(res.url());
      if (url.port === String(playground.port)) responses.push(`${res.request().method()} ${url.pathname} ${res.status()}`);
    });
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await new Promise((r) => attacker?.close(r));
    await playground?.close();
    await core?.close();
    await fx?.close();
  });

  /** Waits until the playground's log holds `count` refusals (requests from frames and beacons arrive on their own time). */
  async function refusalsReach(count: number): Promise<void> {
    await expect.poll(() => refusals.length, { timeout: 30_000 }).toBeGreaterThanOrEqual(count);
    await new Promise((r) => setTimeout(r, 300)); // and nothing more was on its way
  }

  for (const [label, host] of [['another port of 127.0.0.1 (same site)', '127.0.0.1'], ['localhost (cross-site)', 'localhost']] as const) {
    it(`a page on ${label} cannot start a job or read a session's events`, async () => {
      const before = refusals.length;
      const responsesBefore = responses.length;
      const page = await context.newPage();
      await page.goto(`http://${host}:${attackerPort}/`);
      const seen = await page.evaluate((pg) => (window as unknown as { attack(pg: string): Promise<Record<string, unknown>> }).attack(pg), playground.url);
      // What the hostile page itself could see: nothing. Even the opaque no-cors answer fails (the playground's
      // Cross-Origin-Resource-Policy), the JSON fetch is blocked at its preflight, the event stream errors.
      expect(seen).toMatchObject({ noCors: 'failed', cors: 'blocked', events: 'error' });
      // What reached the playground, in its own words: every attempt refused before its body was read. The JSON
      // fetch never got past its preflight, so the POST itself was never sent.
      await refusalsReach(before + 6);
      expect(refusals.slice(before).sort()).toEqual([
        'GET /events 403: FOREIGN_ORIGIN',
        'OPTIONS /api/message 403: PREFLIGHT_REFUSED',
        'POST /api/message 403: FOREIGN_ORIGIN', // the no-cors fetch
        'POST /api/message 403: FOREIGN_ORIGIN', // sendBeacon
        'POST /api/message 403: FOREIGN_ORIGIN', // the text/plain form
        'POST /api/message 403: FOREIGN_ORIGIN', // the urlencoded form
      ]);
      // And what Chromium itself received where it reports it (the two form navigations; a fetch blocked by CORP,
      // a preflight and a beacon are not reported as responses): 403.
      expect(responses.slice(responsesBefore)).toEqual(['POST /api/message 403', 'POST /api/message 403']);
      await page.close();
      // Nothing started: no session was made from a hostile body, the core holds no job, the daemon ran nothing.
      const health = (await (await fetch(`${playground.url}healthz`)).json()) as Record<string, unknown>;
      expect(health).toMatchObject({ sessions: 0 });
      expect(core.jobs.size).toBe(0);
      expect(generated).toEqual([]);
    });
  }

  it('a DNS-rebinding name that resolves to the playground gets 403 for the page and the API', async () => {
    const page = await context.newPage();
    const before = refusals.length;
    const rebound = `http://${REBIND_NAME}:${playground.port}/`;
    const res = await page.goto(rebound);
    expect(res?.status()).toBe(403);
    expect(await page.textContent('body')).toContain(`Host \\"${REBIND_NAME}:${playground.port}\\" is not this playground`);
    // From the rebound origin's point of view the API is same-origin: the Host check is what stops it.
    const status = await page.evaluate(async (url) => (await fetch(`${url}api/message`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ session: 'rebound1', text: '/animate a rebound job' }) })).status, rebound);
    expect(status).toBe(403);
    const seen = refusals.slice(before).filter((r) => !r.startsWith('GET /favicon.ico'));
    expect(seen).toEqual(['GET / 403: FOREIGN_HOST', 'POST /api/message 403: FOREIGN_HOST']);
    await page.close();
    expect(core.jobs.size).toBe(0);
    expect(generated).toEqual([]);
  });

  it("the playground's own page still runs a clip (its app.js sends application/json)", async () => {
    const before = refusals.length;
    const page = await context.newPage();
    const posts: Array<{ type: string | null; status: number }> = [];
    page.on('response', (r) => r.request().method() === 'POST' && posts.push({ type: r.request().headers()['content-type'] ?? null, status: r.status() }));
    await page.goto(playground.url);
    await page.locator('#connection.live').waitFor();
    await page.fill('#input', '/animate a red ball on its own page --seed 7 --steps 4');
    await page.press('#input', 'Enter');
    const video = page.locator('.bubble video.clip').first();
    await video.waitFor({ timeout: 60_000 });
    expect(await video.evaluate((v: HTMLVideoElement) => new Promise((resolve) => (v.readyState >= 2 ? resolve(v.readyState) : v.addEventListener('loadeddata', () => resolve(v.readyState), { once: true }))))).toBeGreaterThanOrEqual(2);
    expect(posts).toEqual([{ type: 'application/json', status: 200 }]);
    expect(refusals.slice(before)).toEqual([]);
    expect(core.jobs.size).toBe(1);
    expect(generated).toEqual([expect.stringContaining('red ball on its own page')]);
    await page.close();
  });
});
