// bots/discord/model-lookup.ts modelsWithin: the model list within a budget, and no timer left behind (#24 review,
// finding 21). Every autocomplete keystroke and every /animate calls it; a budget timer that outlives the call piles
// up and holds the process open. A ManualClock counts the timers still waiting; the core is real, on a real daemon.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBotCore, type BotCore } from '../../bots/core/bot.ts';
import { ManualClock } from '../../bots/core/clock.ts';
import { silentLogger } from '../../bots/core/logger.ts';
import { AUTOCOMPLETE_MODELS_BUDGET_MS, modelsWithin } from '../../bots/discord/model-lookup.ts';
import { startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';

describe('modelsWithin', () => {
  let fx: FixtureDaemon;
  let core: BotCore;
  let silent: net.Server;
  let stuck: BotCore;

  beforeAll(async () => {
    fx = await startFixtureDaemon();
    core = createBotCore({ connection: fx.client, logger: silentLogger });
    // A port that accepts connections and never answers: ListModels waits there past any budget.
    silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    stuck = createBotCore({ daemonAddress: `127.0.0.1:${(silent.address() as net.AddressInfo).port}`, logger: silentLogger });
  }, 120_000);
  afterAll(async () => {
    await core?.close();
    await stuck?.close({ drainMs: 0 });
    silent?.close();
    await fx?.close();
  });

  it('returns the list and clears its budget timer when the daemon answers first (20 calls, 0 timers left)', async () => {
    const clock = new ManualClock();
    for (let i = 0; i < 20; i++) {
      const list = await modelsWithin({ core, clock }, AUTOCOMPLETE_MODELS_BUDGET_MS);
      expect(list?.models.map((m) => m.name)).toContain('fixture');
    }
    expect(clock.pendingTimers).toBe(0);
  });

  it('gives up after the budget with nothing, and leaves no timer', async () => {
    const clock = new ManualClock();
    const pending = modelsWithin({ core: stuck, clock }, 1500);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(1499);
    let settled = false;
    void pending.then(() => (settled = true));
    await clock.advance(0);
    expect(settled).toBe(false);
    await clock.advance(1);
    expect(await pending).toBeUndefined();
    expect(clock.pendingTimers).toBe(0);
  });
});
