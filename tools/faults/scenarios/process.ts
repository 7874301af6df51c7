// Scenarios (f) and (g) of issue 19, where the daemon's process itself is the fault:
// (f) kill -9 mid-job: the person's stream gets a status promptly (no silent hang);
// (g) SIGSTOP mid-job (a frozen host, a cut network without a reset) with a client on short keepalive: the call fails
//     within 30 s, the daemon permitted the pings before it froze, and after SIGCONT new calls work.
import * as grpc from '@grpc/grpc-js';
import { connectAnimator } from '../../../shared/rpc/client.ts';
import { loadProtos } from '../../../shared/rpc/proto.ts';
import type { AnimatorClient, GenerateEvent__Output } from '../../../shared/rpc/types.ts';
import { bearer, healthCheck, settle, sleep, smallGeneration } from '../probe.ts';
import { codeName, within, type Scenario } from './context.ts';

/** How soon after kill -9 the client must hear, ms (issue 19 measured 150 ms; generous for a loaded machine). */
export const KILL_NOTICE_BOUND_MS = 5000;
/** How soon after SIGSTOP a keepalive client must fail its call, ms (issue 19). */
export const FREEZE_NOTICE_BOUND_MS = 30_000;
/** The keepalive the (g) client uses: a ping every second, two seconds to answer it. */
export const SHORT_KEEPALIVE = { 'grpc.keepalive_time_ms': 1000, 'grpc.keepalive_timeout_ms': 2000 } as const;

export const killMidJob: Scenario = {
  name: 'f-kill-9-mid-job',
  ownDaemon: () => [],
  killsDaemon: true,
  async run(ctx) {
    const conn = connectAnimator(ctx.daemon.address, { token: ctx.token });
    try {
      ctx.row.row.cases += 1;
      let running!: () => void;
      const started = new Promise<void>((resolve) => (running = resolve));
      const job = settle(conn.generate(ctx.long('f-person', `faults-f-${Date.now()}`)), (e) => (e.progress || e.started) && running());
      if ((await within(started, 60_000)) === 'timeout') return ctx.row.fail('hangs', 'the long job never started');
      const killedAt = performance.now();
      ctx.daemon.signal('SIGKILL');
      const r = await within(job, KILL_NOTICE_BOUND_MS * 4);
      if (r === 'timeout') return ctx.row.fail('hangs', `no status ${KILL_NOTICE_BOUND_MS * 4} ms after kill -9`);
      const ms = performance.now() - killedAt;
      ctx.log(`  f: the client heard ${codeName(r.error?.code)} ${ms.toFixed(0)} ms after kill -9`);
      if (!r.error) ctx.row.fail('badStatus', 'the stream ended OK although the daemon was killed mid-job');
      if (ms > KILL_NOTICE_BOUND_MS) ctx.row.fail('hangs', `the client heard ${ms.toFixed(0)} ms after kill -9 (at most ${KILL_NOTICE_BOUND_MS})`);
      if (!(await ctx.daemon.waitExit(5000))) ctx.row.note('the daemon process had not exited 5 s after kill -9');
    } finally {
      conn.close();
    }
  },
};

export const freezeMidJob: Scenario = {
  name: 'g-sigstop-mid-job',
  ownDaemon: () => [],
  async run(ctx) {
    const { animator } = loadProtos();
    const client = new animator.animate.v1.Animator(ctx.daemon.address, grpc.credentials.createInsecure(), SHORT_KEEPALIVE) as AnimatorClient;
    let thawed = false;
    try {
      ctx.row.row.cases += 1;
      let running!: () => void;
      const started = new Promise<void>((resolve) => (running = resolve));
      const call = client.Generate(ctx.long('g-person', `faults-g-${Date.now()}`), bearer(ctx.token));
      const job = settle(call as AsyncIterable<GenerateEvent__Output>, (e) => (e.progress || e.started) && running());
      if ((await within(Promise.race([started, job]), 60_000)) === 'timeout') return ctx.row.fail('hangs', 'the long job never started');
      // Several keepalive pings go out while the daemon is well: it must not refuse them (too_many_pings).
      const early = await within(job, 4000);
      if (early !== 'timeout') return ctx.row.fail('badStatus', `the call ended before the freeze, with keepalive pings every 1 s: ${codeName(early.error?.code)} ${early.error?.details.slice(0, 150) ?? ''} (the daemon must permit the client's pings)`);
      const frozenAt = performance.now();
      ctx.daemon.signal('SIGSTOP');
      const r = await within(job, FREEZE_NOTICE_BOUND_MS + 15_000);
      const ms = performance.now() - frozenAt;
      if (r === 'timeout') ctx.row.fail('hangs', `no status ${((FREEZE_NOTICE_BOUND_MS + 15_000) / 1000).toFixed(0)} s after SIGSTOP, despite keepalive`);
      else {
        ctx.log(`  g: the client heard ${codeName(r.error?.code)} ${ms.toFixed(0)} ms after SIGSTOP`);
        if (!r.error) ctx.row.fail('badStatus', 'the call ended OK although the daemon was frozen');
        if (ms > FREEZE_NOTICE_BOUND_MS) ctx.row.fail('hangs', `the call failed ${(ms / 1000).toFixed(1)} s after SIGSTOP (at most ${FREEZE_NOTICE_BOUND_MS / 1000} s)`);
      }
      ctx.daemon.signal('SIGCONT');
      thawed = true;
      call.cancel();
      await sleep(500);
      // Thawed: new calls work, on a new connection and on the keepalive client's (reconnecting) channel.
      ctx.row.row.cases += 1;
      const conn = connectAnimator(ctx.daemon.address, { token: ctx.token });
      try {
        const h = await healthCheck(conn.raw, ctx.token, ctx.options.callDeadlineMs);
        if (!h.serving) ctx.row.note(`after SIGCONT the health check said ${codeName(h.code)} ${h.details.slice(0, 100)}`);
        const gen = await smallGeneration(conn, ctx.small, 120_000, 'g-after');
        if (gen) ctx.row.note(`after SIGCONT: ${gen}`);
      } finally {
        conn.close();
      }
      const list = await within(new Promise<grpc.ServiceError | null>((resolve) => client.ListModels({}, bearer(ctx.token), { deadline: Date.now() + ctx.options.callDeadlineMs }, (err) => resolve(err))), ctx.options.callDeadlineMs + 2000);
      if (list === 'timeout') ctx.row.fail('hangs', 'after SIGCONT, ListModels on the keepalive client never ended');
      else if (list) ctx.row.note(`after SIGCONT, ListModels on the keepalive client failed: ${codeName(list.code)} ${list.details}`);
    } finally {
      if (!thawed) ctx.daemon.signal('SIGCONT');
      client.close();
    }
  },
};
