// The front door (app/start.ts) runs whatever front-ends the configuration turns on through the one FrontEnd
// interface: a front-end that cannot start is a note, not the end of the others; when none can start, start-up
// fails saying why. A remote daemon address is used, so no model is loaded: these are about the front-ends.
import { describe, expect, it } from 'vitest';
import { startAll } from '../../app/start.ts';
import { FRONT_ENDS } from '../../app/front-ends.ts';
import { silentLogger } from '../../bots/core/logger.ts';
import { loadConfig } from '../../shared/config/index.ts';

/** A daemon address nobody listens on: the core connects lazily, and no job is sent in these tests. */
const NO_DAEMON = '127.0.0.1:9';

describe('app/start.ts front-ends', () => {
  it('a Discord bot that cannot log in is a note; the playground still runs and stops', async () => {
    const config = loadConfig(
      // The REST endpoint refuses connections: discord.js cannot fetch the gateway, so login fails.
      { ANIMATE_DAEMON_ADDRESS: NO_DAEMON, PLAYGROUND_PORT: '0', DISCORD_TOKEN: 'not-a-token', DISCORD_APPLICATION_ID: '123456789012', DISCORD_API_URL: 'http://127.0.0.1:9/api', DISCORD_GATEWAY_URL: 'ws://127.0.0.1:9/gateway' },
      [],
      { dotenv: false },
    );
    const lines: string[] = [];
    const running = await startAll(config, { print: (l) => lines.push(l), logger: silentLogger });
    try {
      expect(running.services.map((s) => s.name)).toEqual(['Bot core', 'Playground']);
      expect(running.notes[0]).toContain(`Using the remote daemon at ${NO_DAEMON}`);
      expect(running.notes.find((n) => n.startsWith('Discord failed to start: '))).toBeDefined();
      expect(running.notes).toContain(FRONT_ENDS.find((f) => f.name === 'Slack')!.off);
      expect(lines).toContain(`  Playground  ${running.playgroundUrl}`);
      expect((await fetch(running.playgroundUrl!)).status).toBe(200);
    } finally {
      await running.stop();
    }
    await expect(fetch(running.playgroundUrl!)).rejects.toThrow();
  });

  it('when every front-end that is on fails, start-up fails naming each one', async () => {
    const config = loadConfig({ ANIMATE_DAEMON_ADDRESS: NO_DAEMON, PLAYGROUND_PORT: '0' }, [], { dotenv: false });
    const broken = (name: string) => ({
      name,
      enabled: () => true,
      off: `${name} off`,
      create: () => ({ name, where: 'nowhere', start: () => Promise.reject(new Error(`${name} port busy`)), stop: () => Promise.resolve() }),
    });
    const off = { name: 'Quiet', enabled: () => false, off: 'Quiet off.', create: () => { throw new Error('never made'); } };
    const failure = startAll(config, { print: () => {}, logger: silentLogger, frontEnds: [broken('One'), off, broken('Two')] });
    await expect(failure).rejects.toThrow(
      /No front-end started:\n {2}· Using the remote daemon.*\n {2}· One failed to start: One port busy\n {2}· Quiet off\.\n {2}· Two failed to start: Two port busy$/,
    );
    // A coded error (shared/errors.ts), as every other start-up failure is.
    await expect(failure).rejects.toMatchObject({ code: 'NO_FRONT_END_STARTED', name: 'NoFrontEndStartedError' });
  });
});
