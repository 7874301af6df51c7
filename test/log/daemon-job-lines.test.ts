// A real daemon (fixture model, real onnxruntime, gRPC on loopback) logging JSON lines into a captured stream: every
// line about one job carries that job's id as jobId, from its admission to its end, and a line about another job
// never carries it. (The daemon's job id is the request_id the client sent.) The lines are not picked by searching
// for the id (a line without it would never be looked at): every line written once the daemon listens is about one
// of the two jobs, so each must carry one of the ids, and a line naming a job's requester (user, owner) carries that
// job's id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { daemonLogger } from '../../inference/log.ts';
import { createLogger } from '../../shared/log/create-logger.ts';
import { collect, startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';

const lines: string[] = [];
let fx: FixtureDaemon;

beforeAll(async () => {
  const root = createLogger({ level: 'info', format: 'json', write: (l) => lines.push(l) });
  fx = await startFixtureDaemon({ daemon: { logger: daemonLogger(root.child({ scope: 'daemon' })) } });
}, 120_000);
afterAll(() => fx?.close());

describe('a daemon logging JSON', () => {
  it("puts the job's id on each of its lines", async () => {
    const request = (requestId: string, userId: string) => ({ prompt: 'a red ball', steps: 3, seed: 1, preview: { disabled: true }, requestId, requester: { userId, platform: 'DISCORD' as const } });
    await collect(fx.client.generate(request('log-job-a', 'ann')));
    await collect(fx.client.generate(request('log-job-b', 'bob')));
    await fx.client.cancel('log-job-a', 'done already');
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const r of records) expect(Object.keys(r).slice(0, 3)).toEqual(['level', 'time', 'scope']);
    const listening = records.findIndex((r) => r.msg === 'daemon listening');
    expect(listening).toBeGreaterThanOrEqual(0);
    const jobLines = records.slice(listening + 1);
    for (const r of jobLines) expect([r.msg, r.jobId]).toEqual([r.msg, expect.stringMatching(/^log-job-[ab]$/)]);
    // The requester marks a job's lines independently of the id: ann's are job a's, bob's job b's.
    const namesUser = (r: Record<string, unknown>, user: string) => r.user === user || String(r.owner ?? '').includes(`"${user}"`);
    expect(jobLines.filter((r) => namesUser(r, 'ann')).map((r) => r.jobId)).toEqual(['log-job-a', 'log-job-a']);
    expect(jobLines.filter((r) => namesUser(r, 'bob')).map((r) => r.jobId)).toEqual(['log-job-b', 'log-job-b']);
    const ofA = jobLines.filter((r) => r.jobId === 'log-job-a');
    console.log(`daemon JSON lines: ${records.length}; about log-job-a: ${ofA.map((r) => r.msg).join(' | ')}`);
    // An idle scheduler starts a job within its admission, so "job started" may come before "job queued".
    expect(ofA.map((r) => r.msg).sort()).toEqual(['cancel', 'job done', 'job queued', 'job started']);
    for (const r of ofA) {
      expect(r.jobId).toBe('log-job-a');
      expect(r.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(r.level).toBe('info');
    }
    expect(records.filter((r) => r.jobId === 'log-job-b').map((r) => r.msg).sort()).toEqual(['job done', 'job queued', 'job started']);
  }, 120_000);
});
