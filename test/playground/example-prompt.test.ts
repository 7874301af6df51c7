// Every newcomer screen suggests the one example prompt of shared/wire/examples.ts (#24 review, finding 9): the
// playground's static page and script (which cannot import it, so they hold a literal), the playground's own hint to
// a plain first message (over HTTP, from a real playground), and the "Open … and type:" lines of `npm start` and the
// standalone bots. None suggests a bounce, the embedded model's weakest clip.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBotCore, type BotCore } from '../../bots/core/bot.ts';
import { silentLogger } from '../../bots/core/logger.ts';
import { startPlayground, type RunningPlayground } from '../../bots/playground/server.ts';
import { EXAMPLE_PROMPT as CLI_EXAMPLE } from '../../inference/cli/animate-help.ts';
import { EXAMPLE_COMMAND, EXAMPLE_PROMPT } from '../../shared/wire/examples.ts';
import { readEvents } from '../helpers/playground-events.ts';

const source = (file: string) => readFile(new URL(`../../${file}`, import.meta.url), 'utf8');

describe('the example prompt', () => {
  let core: BotCore;
  let playground: RunningPlayground;

  beforeAll(async () => {
    // No daemon is needed: a plain first message is answered by the playground itself.
    core = createBotCore({ daemonAddress: '127.0.0.1:1', logger: silentLogger });
    playground = await startPlayground({ core, port: 0, logger: silentLogger });
  });
  afterAll(async () => {
    await playground?.close();
    await core?.close({ drainMs: 0 });
  });

  it('is one constant, the CLI re-exports it', () => {
    expect(EXAMPLE_PROMPT).toBe('a pink heart grows in the sky');
    expect(EXAMPLE_COMMAND).toBe('/animate a pink heart grows in the sky');
    expect(CLI_EXAMPLE).toBe(EXAMPLE_PROMPT);
  });

  it("is the static page's and script's literal, as served", async () => {
    const base = `http://127.0.0.1:${playground.port}`;
    const html = await (await fetch(`${base}/`)).text();
    const script = await (await fetch(`${base}/app.js`)).text();
    expect(html).toContain(`<code>${EXAMPLE_COMMAND} --seed 42</code>`);
    expect(html).toContain(`placeholder="${EXAMPLE_COMMAND} --steps 20 --variants 2"`);
    expect(script).toContain(`input.placeholder = '${EXAMPLE_COMMAND} --steps 20 --variants 2';`);
    // No /animate example suggests a bounce (the image hint's "the ball bounces" describes motion for a picture).
    for (const text of [html, script]) expect(text).not.toMatch(/\/animate [^'"<]*bounc/i);
  });

  it("is the playground's hint to a first message that is no command", async () => {
    const base = `http://127.0.0.1:${playground.port}`;
    const session = 'examplesession1';
    const events = readEvents(`${base}/events?session=${session}`, (e) => e.type === 'notice');
    await new Promise((r) => setTimeout(r, 100));
    const post = await fetch(`${base}/api/message`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session, text: 'hello there' }) });
    expect(post.status).toBe(200);
    const notice = (await events).at(-1)!;
    expect(notice.text).toBe(
      `Start with /animate <prompt>, e.g. ${EXAMPLE_COMMAND} --seed 42. Then reply to refine it ("make it blue", "slower") or continue it ("and then it rolls away"). /animate help lists the options.`,
    );
  });

  it("is what `npm start` and the standalone bots say to type", async () => {
    for (const file of ['app/start.ts', 'bots/core/standalone.ts']) {
      const text = await source(file);
      expect(text).toContain('and type: ${EXAMPLE_COMMAND}');
      expect(text).not.toMatch(/bounc/i);
    }
  });
});
