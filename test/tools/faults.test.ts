// The fast cases of the project's fault suite (`npm run faults`, tools/faults/) in `npm test`: the seeded fuzz of
// 300 malformed requests and scenarios (a) and (b) of issue 19, through the same runner, against a real daemon
// process serving a fixture package. Zero crashes, hangs and leaks; and every answer keeps its promise.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFixturePackage } from '../fixtures/fixture-model.ts';
import type { DaemonProcess } from '../../tools/faults/daemon-process.ts';
import { buildFuzzCases, type FuzzCase } from '../../tools/faults/fuzz-cases.ts';
import { runFuzz } from '../../tools/faults/fuzz.ts';
import { FaultOptionError, parseFaultArgs } from '../../tools/faults/options.ts';
import { formatTable, type FaultReport } from '../../tools/faults/report.ts';
import { runFaults, selects } from '../../tools/faults/runner.ts';

const BASE = { prompt: 'a red ball', minSteps: 1, minFrames: 1 };
const GENERATE_REQUEST_FIELDS = ['prompt', 'negative_prompt', 'seed', 'steps', 'guidance_scale', 'frames', 'width', 'height', 'aspect', 'fps', 'model', 'formats', 'preview', 'request_id', 'requester', 'upscale', 'scheduler'];

describe('the fuzzer', () => {
  it('is reproducible from its seed and covers every GenerateRequest field within 300 cases', () => {
    const a = buildFuzzCases(300, 19, BASE);
    const b = buildFuzzCases(300, 19, BASE);
    const c = buildFuzzCases(300, 20, BASE);
    expect(a).toHaveLength(300);
    expect(a.map((x) => x.name)).toEqual(b.map((x) => x.name));
    expect(a.every((x, i) => x.body.equals(b[i]!.body))).toBe(true);
    expect(a.some((x, i) => x.name !== c[i]!.name || !x.body.equals(c[i]!.body))).toBe(true);
    for (const field of GENERATE_REQUEST_FIELDS) expect(a.some((x) => x.kind === 'generate' && x.name.includes(` ${field} `)), field).toBe(true);
    for (const group of ['fuzz:strings', 'fuzz:numbers', 'fuzz:enums', 'fuzz:wire', 'fuzz:metadata', 'fuzz:cancel', 'fuzz:rpcs', 'fuzz:http2']) {
      expect(a.some((x) => x.group === group), group).toBe(true);
    }
    // Huge strings reach 1 MiB.
    expect(Math.max(...a.map((x) => x.body.length))).toBeGreaterThanOrEqual(1024 * 1024);
  });

  it('parses its options, refusing bad ones with what is allowed', () => {
    expect(parseFaultArgs(['--cases', '350', '--seed=7', '--only', 'fuzz,a', '--only', 'b'], () => {})).toMatchObject({ cases: 350, seed: 7, only: ['fuzz', 'a', 'b'] });
    expect(parseFaultArgs(['--help'], () => {})).toBeUndefined();
    expect(() => parseFaultArgs(['--cases', 'many'], () => {})).toThrow(FaultOptionError);
    expect(() => parseFaultArgs(['--cases', 'many'], () => {})).toThrow(/--cases="many" is not valid: accepts an integer from 1 to 100000/);
    expect(() => parseFaultArgs(['--bogus'], () => {})).toThrow(/unknown option "--bogus"; allowed: --cases/);
    expect(selects(['a'], 'a-huge-status-texts')).toBe(true);
    expect(selects(['scenario:b'], 'a-huge-status-texts')).toBe(false);
    expect(selects(['fuzz:wire'], 'fuzz:strings')).toBe(false);
  });
});

describe('runFuzz when the daemon dies', () => {
  it('reports the crash once and starts one new daemon, however many workers find it dead', async () => {
    // Nothing listens on port 1, so every call ends at once with UNAVAILABLE; the daemons are stand-ins.
    const fake = (alive: boolean) => ({ address: '127.0.0.1:1', alive: () => alive, exitDescription: () => (alive ? 'running' : 'exit code 1, signal null') }) as unknown as DaemonProcess;
    const cases: FuzzCase[] = Array.from({ length: 40 }, (_, i) => ({ name: `fuzz:rpcs health ${i}`, group: 'fuzz:rpcs', kind: 'health', body: Buffer.alloc(0), auth: 'good' }));
    const crashes: string[] = [];
    let verdicts = 0;
    await runFuzz(cases, {
      daemon: fake(false),
      token: 't',
      deadlineMs: 2000,
      concurrency: 4,
      onVerdict: () => (verdicts += 1),
      onCrash: async (why) => {
        crashes.push(why);
        // A restart takes a while: the other workers must wait for it, not find the old daemon dead again.
        await new Promise((resolve) => setTimeout(resolve, 300));
        return fake(true);
      },
    });
    expect(crashes, crashes.join('\n')).toHaveLength(1);
    expect(crashes[0]).toMatch(/the daemon died during the fuzz, near case fuzz:rpcs health \d+: exit code 1/);
    expect(verdicts).toBe(40);
  });
});

describe('npm run faults, fast cases, against a real daemon process', () => {
  let modelsDir: string;
  let report: FaultReport;
  beforeAll(async () => {
    modelsDir = await mkdtemp(path.join(os.tmpdir(), 'animate-faults-'));
    // A slow denoiser (about 20 ms a step) so that scenario (a)'s long job is still running when it is cancelled.
    await buildFixturePackage(path.join(modelsDir, 'fixture'), { burnMs: 20 });
    report = await runFaults({ modelsDir, model: 'fixture', cases: 300, seed: 19, only: ['fuzz', 'a', 'b'], log: () => {} });
  });
  afterAll(async () => {
    if (modelsDir) await rm(modelsDir, { recursive: true, force: true });
  });

  it('sends at least 300 fuzzed requests and runs scenarios a and b', () => {
    const fuzzCases = report.rows.filter((r) => r.name.startsWith('fuzz:') && !r.name.startsWith('fuzz:after')).reduce((n, r) => n + r.cases, 0);
    expect(fuzzCases).toBeGreaterThanOrEqual(300);
    expect(report.rows.map((r) => r.name)).toEqual(expect.arrayContaining(['fuzz:after (alive, health, generation)', 'a-huge-status-texts', 'b-request-id-owner']));
    expect(report.rows.find((r) => r.name === 'b-request-id-owner')!.cases).toBeGreaterThanOrEqual(6);
    // Peak resident memory is measured from /proc on Linux.
    if (process.platform === 'linux') expect(report.rows.every((r) => (r.peakRssMiB ?? 0) > 10)).toBe(true);
  });

  it('has no crashes, hangs or leaks', () => {
    const bad = report.rows.filter((r) => r.crashes + r.hangs + r.leaks > 0);
    expect(bad, formatTable(report)).toEqual([]);
  });

  it('keeps every promise: no INTERNAL for a client mistake, short details naming the field, the right codes', () => {
    expect(report.rows.filter((r) => !r.passed).map((r) => r.name), formatTable(report)).toEqual([]);
    expect(report.passed).toBe(true);
  });
});
