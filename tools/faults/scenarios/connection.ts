// Scenarios (a) and (b) of issue 19, against the live daemon over one shared connection, as the bots use it:
// (a) a 1 MiB model name and a 100 KiB cancel reason each get their answer, and three other calls on the same
//     connection then finish (a huge status used to wedge the whole HTTP/2 connection);
// (b) a request_id belongs to its requester: another requester gets PERMISSION_DENIED and never the first one's
//     clip, the same requester with other parameters gets ALREADY_EXISTS.
import * as grpc from '@grpc/grpc-js';
import { connectAnimator, type AnimatorConnection } from '../../../shared/rpc/client.ts';
import { wireStatusOf } from '../../../shared/rpc/rpc-error.ts';
import type { GenerateEvent__Output, GenerateRequest } from '../../../shared/rpc/types.ts';
import { MAX_DETAILS_BYTES } from '../fuzz.ts';
import { clipSize, healthCheck, settle, smallGeneration, smallRequest, type Settled } from '../probe.ts';
import { codeName, stillActive, within, type Scenario, type ScenarioContext } from './context.ts';

const MiB = 1024 * 1024;

/** ListModels, a health check and a small generation on `conn`: all three must finish OK. */
async function threeOtherCalls(ctx: ScenarioContext, conn: AnimatorConnection, after: string): Promise<void> {
  const deadline = ctx.options.callDeadlineMs;
  const list = within(conn.listModels().then(() => undefined, (e: unknown) => `ListModels failed: ${codeName(wireStatusOf(e)?.code)} ${wireStatusOf(e)?.details ?? String(e)}`), deadline + 2000);
  const health = within(healthCheck(conn.raw, ctx.token, deadline).then((h) => (h.serving ? undefined : `health check: ${codeName(h.code)} ${h.details.slice(0, 100)}`)), deadline + 2000);
  const gen = within(smallGeneration(conn, ctx.small, Math.max(deadline, 60_000), 'a-bystander'), Math.max(deadline, 60_000) + 2000);
  const results = await Promise.all([list, health, gen]);
  results.forEach((r, i) => {
    const what = ['ListModels', 'health check', 'small generation'][i];
    if (r === 'timeout') ctx.row.fail('hangs', `${what} on the same connection after ${after} never ended: the connection is wedged`);
    else if (r) ctx.row.note(`after ${after}, on the same connection: ${r}`);
  });
}

function checkDetails(ctx: ScenarioContext, what: string, details: string): void {
  const bytes = Buffer.byteLength(details, 'utf8');
  if (bytes > MAX_DETAILS_BYTES) ctx.row.fail('badStatus', `${what}: status details are ${bytes} bytes (at most ${MAX_DETAILS_BYTES})`);
}

export const hugeStatusTexts: Scenario = {
  name: 'a-huge-status-texts',
  async run(ctx) {
    const conn = connectAnimator(ctx.daemon.address, { token: ctx.token });
    const deadline = ctx.options.callDeadlineMs;
    try {
      // A 1 MiB model name: NOT_FOUND (or INVALID_ARGUMENT), with a short message.
      ctx.row.row.cases += 1;
      const named = await within(settle(conn.generate(smallRequest(ctx.small, { userId: 'a-attacker' }, { model: 'M'.repeat(MiB) }), { deadline: new Date(Date.now() + deadline) })), deadline + 2000);
      if (named === 'timeout' || named.error?.code === grpc.status.DEADLINE_EXCEEDED) ctx.row.fail('hangs', 'Generate with a 1 MiB model name got no answer');
      else if (!named.error) ctx.row.fail('badStatus', 'Generate with a 1 MiB model name was accepted');
      else {
        if (![grpc.status.NOT_FOUND, grpc.status.INVALID_ARGUMENT].includes(named.error.code)) ctx.row.fail('badStatus', `a 1 MiB model name got ${codeName(named.error.code)}, expected NOT_FOUND or INVALID_ARGUMENT`);
        checkDetails(ctx, 'a 1 MiB model name', named.error.details);
      }
      await threeOtherCalls(ctx, conn, 'a 1 MiB model name');

      // A 100 KiB cancel reason, sent to a running (or queued) job's stream on the same connection.
      ctx.row.row.cases += 1;
      const id = `faults-a-${process.pid}-${Date.now()}`;
      let sawEvent!: () => void;
      const started = new Promise<void>((resolve) => (sawEvent = resolve));
      const victim = settle(conn.generate(ctx.long('a-victim', id), { deadline: new Date(Date.now() + 10 * deadline) }), () => sawEvent());
      if ((await within(started, deadline)) === 'timeout') ctx.row.fail('hangs', 'the long job sent no first event');
      const cancel = await within(conn.cancel(id, 'r'.repeat(100 * 1024)).then((r) => r, (e: unknown) => Object.assign(new Error(String(e)), wireStatusOf(e) ?? { code: grpc.status.UNKNOWN, details: String(e) })), deadline + 2000);
      if (cancel === 'timeout') ctx.row.fail('hangs', 'Cancel with a 100 KiB reason got no answer');
      else if (cancel instanceof Error) ctx.row.fail('badStatus', `Cancel with a 100 KiB reason failed: ${codeName(cancel.code)} ${cancel.details.slice(0, 100)}`);
      else if (!cancel.cancelled) ctx.row.note(`the long job was already ${cancel.state} when cancelled: use a slower model to test this (the victim stream proves nothing)`);
      const ended = await within(victim, deadline + 2000);
      if (ended === 'timeout') ctx.row.fail('hangs', 'the cancelled stream never ended after a 100 KiB cancel reason');
      else if (cancel !== 'timeout' && !(cancel instanceof Error) && cancel.cancelled) {
        if (ended.error?.code !== grpc.status.CANCELLED) ctx.row.fail('badStatus', `the cancelled stream ended with ${codeName(ended.error?.code)}, expected CANCELLED`);
        else checkDetails(ctx, 'the CANCELLED status carrying a 100 KiB reason', ended.error.details);
      }
      await threeOtherCalls(ctx, conn, 'a 100 KiB cancel reason');
      const left = await stillActive(conn, [id]);
      if (left.length) ctx.row.fail('leaks', `job still active after the scenario: ${left.join(', ')}`);
    } finally {
      conn.close();
    }
  },
};

type Who = { userId: string; platform: 'DISCORD'; serverId: string };

function hasClipOf(events: GenerateEvent__Output[], prompt: string): boolean {
  return clipSize(events) > 0 || events.some((e) => e.done?.prompt === prompt);
}

export const requestIdOwner: Scenario = {
  name: 'b-request-id-owner',
  async run(ctx) {
    const conn = connectAnimator(ctx.daemon.address, { token: ctx.token });
    const deadline = Math.max(ctx.options.callDeadlineMs, 60_000);
    const alice: Who = { userId: 'alice', platform: 'DISCORD', serverId: 'guild-1' };
    const mallory: Who = { userId: 'mallory', platform: 'DISCORD', serverId: 'guild-1' };
    const aliceElsewhere: Who = { userId: 'alice', platform: 'DISCORD', serverId: 'guild-2' };
    const id = `faults-b-${process.pid}-${Date.now()}`;
    const req = (who: Who, prompt: string, extra: Partial<GenerateRequest> = {}): GenerateRequest => ({ ...smallRequest(ctx.small, who), requester: who, prompt, requestId: id, ...extra });
    const run = (r: GenerateRequest) => within(settle(conn.generate(r, { deadline: new Date(Date.now() + deadline) })), deadline + 2000);
    const expectRefusal = (what: string, got: Settled | 'timeout', code: grpc.status, secretPrompt: string) => {
      ctx.row.row.cases += 1;
      if (got === 'timeout') return ctx.row.fail('hangs', `${what}: no answer`);
      if (hasClipOf(got.events, secretPrompt)) ctx.row.fail('badStatus', `${what}: got the first requester's clip or Done (${got.events.length} events)`);
      if (got.error?.code !== code) ctx.row.fail('badStatus', `${what}: got ${codeName(got.error?.code)} after ${got.events.length} events, expected ${codeName(code)}`);
      else checkDetails(ctx, what, got.error.details);
    };
    const ids = [id];
    try {
      const secret = ctx.small.prompt;
      ctx.row.row.cases += 1;
      const first = await run(req(alice, secret));
      if (first === 'timeout' || first.error || clipSize(first.events) === 0) {
        ctx.row.note(`the first requester's own generation failed: ${first === 'timeout' ? 'no answer' : `${codeName(first.error?.code)} ${first.error?.details ?? 'no clip'}`}`);
        return;
      }
      expectRefusal('another user, same request_id, other prompt', await run(req(mallory, `${secret} at night`)), grpc.status.PERMISSION_DENIED, secret);
      expectRefusal('another user, same request_id, same parameters', await run(req(mallory, secret)), grpc.status.PERMISSION_DENIED, secret);
      expectRefusal('the same user on another server, same request_id', await run(req(aliceElsewhere, secret)), grpc.status.PERMISSION_DENIED, secret);
      expectRefusal('the same requester, same request_id, other seed', await run(req(alice, secret, { seed: 99 })), grpc.status.ALREADY_EXISTS, '\u0000never');
      // The promise that stays: the same requester resending the same request gets the same clip, not a second job.
      ctx.row.row.cases += 1;
      const again = await run(req(alice, secret));
      if (again === 'timeout') ctx.row.fail('hangs', 'the same requester resending the same request: no answer');
      else if (again.error || clipSize(again.events) !== clipSize(first.events)) ctx.row.note(`the same requester resending the same request did not get the same clip (${codeName(again.error?.code)}, ${clipSize(again.events)} vs ${clipSize(first.events)} bytes)`);

      // While the job still runs: another requester is refused at once and sees none of its events.
      const runningId = `${id}-running`;
      ids.push(runningId);
      let sawEvent!: () => void;
      const started = new Promise<void>((resolve) => (sawEvent = resolve));
      const owner = settle(conn.generate({ ...ctx.long('alice', runningId), requester: alice }, { deadline: new Date(Date.now() + 10 * deadline) }), () => sawEvent());
      await within(started, ctx.options.callDeadlineMs);
      const thief = await within(settle(conn.generate({ ...ctx.long('mallory', runningId), requester: mallory }, { deadline: new Date(Date.now() + ctx.options.callDeadlineMs) })), ctx.options.callDeadlineMs + 2000);
      ctx.row.row.cases += 1;
      if (thief !== 'timeout' && thief.events.length) ctx.row.fail('badStatus', `another user joining a running job by its request_id was let in: saw ${thief.events.length} of its events, then ${codeName(thief.error?.code)}`);
      else if (thief === 'timeout' || thief.error?.code === grpc.status.DEADLINE_EXCEEDED) ctx.row.fail('hangs', 'another user joining a running job by its request_id got no answer');
      else {
        if (thief.events.length) ctx.row.fail('badStatus', `another user joining a running job by its request_id saw ${thief.events.length} of its events`);
        if (thief.error?.code !== grpc.status.PERMISSION_DENIED) ctx.row.fail('badStatus', `another user joining a running job got ${codeName(thief.error?.code)}, expected PERMISSION_DENIED`);
      }
      await conn.cancel(runningId, 'fault suite: done with it').catch(() => undefined);
      await within(owner, ctx.options.callDeadlineMs);
    } finally {
      const left = await stillActive(conn, ids).catch(() => []);
      if (left.length) ctx.row.fail('leaks', `jobs still active after the scenario: ${left.join(', ')}`);
      conn.close();
    }
  },
};
