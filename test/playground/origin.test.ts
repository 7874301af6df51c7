// The playground refuses requests that do not come from its own page on a loopback name (CSRF, DNS rebinding), at
// the HTTP level: a real playground on a real bot core and a fixture daemon, raw node:http requests so every header
// (Host, Origin, Sec-Fetch-Site, Content-Type) is exactly what a hostile browser page or a rebinding attack sends.
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBotCore, type BotCore } from '../../bots/core/bot.ts';
import { silentLogger } from '../../bots/core/logger.ts';
import { RefusalCode, RequestGuard, mediaType } from '../../bots/playground/request-guard.ts';
import { CodedError, ERROR_CODE_PATTERN } from '../../shared/errors.ts';
import { startPlayground, type RunningPlayground } from '../../bots/playground/server.ts';
import { startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';
import { readEvents } from '../helpers/playground-events.ts';

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json(): Record<string, unknown>;
}

/** One request with exactly these headers (node:http sends Host as given). */
function raw(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const sent: http.OutgoingHttpHeaders = { host: `127.0.0.1:${port}`, ...headers };
    if (body !== undefined) sent['content-length'] = Buffer.byteLength(body);
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: sent, setHost: false, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      // SSE never ends by itself: the first chunk is enough to know it was served.
      res.on('data', (chunk: string) => {
        text += chunk;
        if (String(res.headers['content-type']).startsWith('text/event-stream')) res.destroy();
      });
      const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> });
      res.on('end', done);
      res.on('close', done);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('playground refuses cross-site and foreign-host requests (HTTP)', () => {
  let fx: FixtureDaemon;
  let core: BotCore;
  let playground: RunningPlayground;
  let port: number;
  let own: string;
  /** Prompts of every generation the daemon ran. */
  const generated: string[] = [];
  /** Every response seen, to check no route ever grants CORS. */
  const seen: RawResponse[] = [];
  const req = async (method: string, path: string, headers: Record<string, string>, body?: string) => {
    const res = await raw(port, method, path, headers, body);
    seen.push(res);
    return res;
  };
  const animate = (session: string, prompt: string) => JSON.stringify({ session, text: `/animate ${prompt} --steps 4` });
  let clipUrl = '';

  beforeAll(async () => {
    fx = await startFixtureDaemon({
      fixture: { defaults: { width: 32, height: 32, frames: 5, steps: 4 } },
      daemon: { onGenerationReport: (_report, job) => generated.push(job.spec.prompt) },
    });
    core = createBotCore({ connection: fx.client, logger: silentLogger });
    playground = await startPlayground({ core, port: 0, logger: silentLogger });
    port = playground.port;
    own = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await playground?.close();
    await core?.close();
    await fx?.close();
  });

  it('refuses writes with another content type, a foreign Origin, a foreign Host or Sec-Fetch-Site cross-site, saying why', async () => {
    const json = { 'content-type': 'application/json' };
    const cases: Array<{ what: string; headers: Record<string, string>; code: string; says: RegExp }> = [
      { what: 'text/plain (what a no-cors fetch sends)', headers: { 'content-type': 'text/plain;charset=UTF-8', origin: own }, code: 'NOT_JSON', says: /Content-Type must be application\/json \(got "text\/plain;charset=utf-8"\)/ },
      { what: 'a form post', headers: { 'content-type': 'application/x-www-form-urlencoded' }, code: 'NOT_JSON', says: /application\/json/ },
      { what: 'a multipart form', headers: { 'content-type': 'multipart/form-data; boundary=x' }, code: 'NOT_JSON', says: /application\/json/ },
      { what: 'no content type', headers: {}, code: 'NOT_JSON', says: /got none/ },
      { what: 'application/jsonp', headers: { 'content-type': 'application/jsonp' }, code: 'NOT_JSON', says: /application\/json/ },
      { what: 'a foreign site', headers: { ...json, origin: 'http://evil.example' }, code: 'FOREIGN_ORIGIN', says: /origin "http:\/\/evil\.example" are refused: the playground accepts only its own page/ },
      { what: 'another port of 127.0.0.1 (same site, another origin)', headers: { ...json, origin: `http://127.0.0.1:${port + 1}` }, code: 'FOREIGN_ORIGIN', says: /refused/ },
      { what: 'localhost while the Host is 127.0.0.1', headers: { ...json, origin: `http://localhost:${port}` }, code: 'FOREIGN_ORIGIN', says: /refused/ },
      { what: 'https on the same host', headers: { ...json, origin: `https://127.0.0.1:${port}` }, code: 'FOREIGN_ORIGIN', says: /refused/ },
      { what: 'an opaque origin (sandboxed frame, file:)', headers: { ...json, origin: 'null' }, code: 'FOREIGN_ORIGIN', says: /origin "null"/ },
      { what: 'a DNS-rebinding name', headers: { ...json, host: `evil.example:${port}`, origin: `http://evil.example:${port}` }, code: 'FOREIGN_HOST', says: /Host "evil\.example:\d+" is not this playground: it answers only to 127\.0\.0\.1:\d+, localhost:\d+, \[::1\]:\d+/ },
      { what: 'a rebinding name without Origin', headers: { ...json, host: `evil.example:${port}` }, code: 'FOREIGN_HOST', says: /set PLAYGROUND_HOST/ },
      { what: 'the right name on another port', headers: { ...json, host: `127.0.0.1:${port + 1}` }, code: 'FOREIGN_HOST', says: /not this playground/ },
      { what: 'Sec-Fetch-Site cross-site', headers: { ...json, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' }, code: 'CROSS_SITE', says: /Sec-Fetch-Site: cross-site/ },
      { what: 'Sec-Fetch-Site same-site', headers: { ...json, 'sec-fetch-site': 'same-site' }, code: 'CROSS_SITE', says: /Sec-Fetch-Site: same-site/ },
    ];
    for (const [i, c] of cases.entries()) {
      for (const path of ['/api/message', '/api/action']) {
        const body = path === '/api/message' ? animate(`attacker${i}`, `a stolen job ${i}`) : JSON.stringify({ session: `attacker${i}`, jobId: 'x', action: 'reroll' });
        const res = await req('POST', path, c.headers, body);
        expect({ what: c.what, path, status: res.status }).toEqual({ what: c.what, path, status: 403 });
        expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(res.json()).toMatchObject({ ok: false, code: c.code });
        expect(String(res.json().error)).toMatch(c.says);
      }
    }
    // HTTP/1.0 may leave Host out (Node itself answers 400 to HTTP/1.1 without one): refused too.
    const noHost = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.end(`POST /api/message HTTP/1.0\r\ncontent-type: application/json\r\ncontent-length: ${animate('nohost1', 'x').length}\r\n\r\n${animate('nohost1', 'x')}`));
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => (text += d));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(noHost).toMatch(/^HTTP\/1\.1 403 /);
    expect(noHost).toContain('A request without a Host header is not this playground');
    // Nothing was parsed or started: no session exists, the core holds no job, the daemon ran nothing.
    const health = await req('GET', '/healthz', {});
    expect(health.json()).toMatchObject({ ok: true, sessions: 0, refused: cases.length * 2 + 1 });
    expect(core.jobs.size).toBe(0);
    expect(generated).toEqual([]);
  });

  it('refuses CORS preflights without any Access-Control-Allow-* header', async () => {
    for (const path of ['/api/message', '/api/action', '/events', '/']) {
      const res = await req('OPTIONS', path, { origin: 'http://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' });
      expect(res.status).toBe(403);
      expect(res.json()).toMatchObject({ ok: false, code: 'PREFLIGHT_REFUSED' });
      expect(Object.keys(res.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    }
  });

  it('accepts its own page, curl-like requests and localhost; the job runs once and its clip is served', async () => {
    const session = 'goodsession1';
    const events = readEvents(`${own}/events?session=${session}`, (e) => e.type === 'clip' || e.type === 'fail');
    await new Promise((r) => setTimeout(r, 100));
    // What the playground's page sends: JSON with a charset parameter, its own Origin, Sec-Fetch-Site same-origin.
    const post = await req('POST', '/api/message', { 'content-type': 'application/json; charset=utf-8', origin: own, 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' }, animate(session, 'a red ball --seed 5'));
    expect(post.status).toBe(200);
    expect(post.json()).toMatchObject({ ok: true });
    const got = await events;
    expect(got.at(-1)!.type).toBe('clip');
    clipUrl = String(got.at(-1)!.url);
    expect(generated).toHaveLength(1);
    expect(generated[0]).toContain('red ball');
    expect(core.jobs.size).toBe(1);

    // Without Origin (curl, the CLI) and under the localhost name with its origin: allowed. /animate help starts no job.
    const help = JSON.stringify({ session, text: '/animate help' });
    expect((await req('POST', '/api/message', { 'content-type': 'application/json' }, help)).status).toBe(200);
    expect((await req('POST', '/api/message', { 'content-type': 'APPLICATION/JSON', host: `localhost:${port}`, origin: `http://localhost:${port}` }, help)).status).toBe(200);
    expect((await req('POST', '/api/message', { 'content-type': 'application/json', host: `[::1]:${port}`, 'sec-fetch-site': 'none' }, help)).status).toBe(200);
  });

  it('applies the Host check to every route, and cross-origin reads of events and media are refused', async () => {
    expect(clipUrl).toMatch(/^\/media\//);
    const reads = ['/', '/app.js', '/style.css', '/events?session=goodsession1', clipUrl, '/healthz'];
    for (const path of reads) {
      // Served to the page's own name: so the refusals below are the guard, not a missing route.
      const ok = await req('GET', path, {});
      expect({ path, status: ok.status }).toEqual({ path, status: 200 });
      const rebound = await req('GET', path, { host: `attacker.example:${port}` });
      expect({ path, status: rebound.status, code: rebound.json().code }).toEqual({ path, status: 403, code: 'FOREIGN_HOST' });
    }
    // The SSE replay holds the session's prompts and clip URLs; media holds the clip: neither goes to another origin.
    for (const path of ['/events?session=goodsession1', clipUrl, '/healthz']) {
      const foreign = await req('GET', path, { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'cors' });
      expect({ path, status: foreign.status }).toEqual({ path, status: 403 });
      expect(foreign.text).not.toContain('red ball');
      const embedded = await req('GET', path, { 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'video' });
      expect({ path, status: embedded.status, code: embedded.json().code }).toEqual({ path, status: 403, code: 'CROSS_SITE' });
    }
    // A link from another site still opens the page (a top-level navigation starts nothing), but not in a frame.
    const link = await req('GET', '/', { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' });
    expect(link.status).toBe(200);
    expect(link.headers['content-security-policy']).toBe("frame-ancestors 'none'");
    const framed = await req('GET', '/', { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'iframe' });
    expect(framed.status).toBe(403);
    const media = await req('GET', clipUrl, { 'sec-fetch-site': 'same-origin', 'sec-fetch-dest': 'video' });
    expect(media.status).toBe(200);
    expect(media.headers['cross-origin-resource-policy']).toBe('same-origin');
  });

  it('keeps at most maxSessions browser sessions however many ids callers make up', async () => {
    const small = await startPlayground({ core, port: 0, logger: silentLogger, maxSessions: 2 });
    try {
      for (let i = 0; i < 6; i++) expect((await raw(small.port, 'GET', `/events?session=made-up-${i}`, { host: `127.0.0.1:${small.port}` })).status).toBe(200);
      const health = await raw(small.port, 'GET', '/healthz', { host: `127.0.0.1:${small.port}` });
      expect(health.json()).toMatchObject({ ok: true, sessions: 2 });
    } finally {
      await small.close();
    }
  });

  it('no response ever grants CORS', () => {
    expect(seen.length).toBeGreaterThan(50);
    for (const res of seen) expect(Object.keys(res.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });
});

describe('RequestGuard names', () => {
  const json = { 'content-type': 'application/json' };
  it('a specific PLAYGROUND_HOST adds that name; IPv6 literals go in brackets; port 80 is written without a port', () => {
    expect([...new RequestGuard({ port: 8787 }).hosts]).toEqual(['127.0.0.1:8787', 'localhost:8787', '[::1]:8787']);
    expect([...new RequestGuard({ port: 8787, listenHost: '192.168.1.20' }).hosts]).toContain('192.168.1.20:8787');
    expect([...new RequestGuard({ port: 8787, listenHost: 'GPU-Box.local' }).hosts]).toContain('gpu-box.local:8787');
    expect([...new RequestGuard({ port: 8787, listenHost: 'fd00::5' }).hosts]).toContain('[fd00::5]:8787');
    const on80 = new RequestGuard({ port: 80 });
    expect(on80.check('POST', { ...json, host: 'localhost', origin: 'http://localhost' }, 'write')).toBeUndefined();
    expect(on80.check('POST', { ...json, host: 'localhost:8080' }, 'write')?.code).toBe('FOREIGN_HOST');
  });

  it('a wildcard listen allows this machine\'s interface addresses, not arbitrary names', () => {
    const guard = new RequestGuard({ port: 9000, listenHost: '0.0.0.0', interfaceAddresses: () => ['127.0.0.1', '10.1.2.3', 'fe80::1%eth0'] });
    expect([...guard.hosts].sort()).toEqual(['10.1.2.3:9000', '127.0.0.1:9000', '[::1]:9000', '[fe80::1]:9000', 'localhost:9000']);
    expect(guard.check('POST', { ...json, host: '10.1.2.3:9000', origin: 'http://10.1.2.3:9000' }, 'write')).toBeUndefined();
    expect(guard.check('GET', { host: 'rebind.attacker.example:9000' }, 'read')?.code).toBe('FOREIGN_HOST');
  });

  it('quotes hostile header values short and printable', () => {
    const refusal = new RequestGuard({ port: 1 }).check('POST', { host: `x\u0007${'a'.repeat(500)}` }, 'write');
    expect(refusal?.message).toContain('Host "x?aaaa');
    expect(refusal!.message.length).toBeLessThan(300);
  });

  it('refusals are CodedErrors with stable UPPER_SNAKE codes, like every other coded error', () => {
    for (const code of Object.values(RefusalCode)) expect(code).toMatch(ERROR_CODE_PATTERN);
    const refusal = new RequestGuard({ port: 1 }).check('POST', { host: 'evil.example:1' }, 'write');
    expect(refusal).toBeInstanceOf(CodedError);
    expect(refusal).toMatchObject({ status: 403, code: 'FOREIGN_HOST', name: 'Refusal' });
  });

  it('mediaType drops parameters and case', () => {
    expect(mediaType('Application/JSON ; charset=utf-8')).toBe('application/json');
    expect(mediaType('')).toBe('');
  });
});
