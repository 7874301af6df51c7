// The playground stamps a request's arrival when its POST arrives, before its body is read (#24 review, finding 6):
// animate_bot_ack_seconds then includes the wait for the body. A raw POST whose body comes 1.2 s after its headers
// gives a lower bound that cannot flake; stamped late (in core.animate), the ack would miss those 1.2 s. Real
// playground, real bot core, real daemon (fixture model).
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBotCore, type BotCore } from '../../bots/core/bot.ts';
import { silentLogger } from '../../bots/core/logger.ts';
import { BotMetrics } from '../../bots/core/metrics.ts';
import { startPlayground, type RunningPlayground } from '../../bots/playground/server.ts';
import { startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';
import { readEvents } from '../helpers/playground-events.ts';

const series = async (metrics: BotMetrics, name: string) => {
  const line = (await metrics.text()).split('\n').find((l) => l.startsWith(`${name}{platform="playground"} `));
  return Number(line?.split(' ')[1] ?? NaN);
};

describe('the playground ack', () => {
  let fx: FixtureDaemon;
  let core: BotCore;
  let playground: RunningPlayground;
  const metrics = new BotMetrics();

  beforeAll(async () => {
    fx = await startFixtureDaemon({ fixture: { defaults: { width: 32, height: 32, frames: 5, steps: 3 } } });
    core = createBotCore({ connection: fx.client, logger: silentLogger, metrics });
    playground = await startPlayground({ core, port: 0, logger: silentLogger });
  }, 120_000);
  afterAll(async () => {
    await playground?.close();
    await core?.close();
    await fx?.close();
  });

  it("is measured from the POST's arrival, so a body that comes late is in it", async () => {
    const session = 'acksession01';
    const events = readEvents(`http://127.0.0.1:${playground.port}/events?session=${session}`, (e) => e.type === 'clip' || e.type === 'fail');
    await new Promise((r) => setTimeout(r, 100));
    const body = JSON.stringify({ session, text: '/animate a pink heart grows in the sky --seed 3 --steps 3' });
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: playground.port, method: 'POST', path: '/api/message', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.flushHeaders();
      // The headers now, the body 1.2 s later.
      setTimeout(() => req.end(body), 1200);
    });
    expect(status).toBe(200);
    expect((await events).at(-1)!.type).toBe('clip');
    const count = await series(metrics, 'animate_bot_ack_seconds_count');
    const sum = await series(metrics, 'animate_bot_ack_seconds_sum');
    console.log(`playground ack with a body 1.2 s late: ${sum.toFixed(3)} s`);
    expect(count).toBe(1);
    expect(sum).toBeGreaterThanOrEqual(1.15);
  }, 120_000);
});
