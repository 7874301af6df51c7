// The fault suite's runner: starts real daemons in their own processes, runs the fuzz and the scenarios against
// them, checks after each that the daemon is still alive and serving, and gathers one row per group or scenario.
// `npm run faults` (cli.ts) and test/tools/faults.test.ts both call runFaults, so the fast cases in `npm test` are the
// same code as the full suite.
import { randomBytes } from 'node:crypto';
import { connectAnimator } from '../../shared/rpc/client.ts';
import type { ListModelsResponse__Output } from '../../shared/rpc/types.ts';
import { DaemonProcess, RssSampler } from './daemon-process.ts';
import { buildFuzzCases, type FuzzCase } from './fuzz-cases.ts';
import { runFuzz } from './fuzz.ts';
import { DEFAULT_FAULT_OPTIONS, type FaultOptions } from './options.ts';
import { stillServing, type SmallJob } from './probe.ts';
import { RowBuilder, type CaseRow, type FaultReport } from './report.ts';
import { longRequestFor, type Scenario, type ScenarioContext } from './scenarios/context.ts';
import { hugeStatusTexts, requestIdOwner } from './scenarios/connection.ts';
import { admissionWhenFull, idleStreams, queueFlood } from './scenarios/load.ts';
import { freezeMidJob, killMidJob } from './scenarios/process.ts';

export const SCENARIOS: Scenario[] = [hugeStatusTexts, requestIdOwner, idleStreams, queueFlood, admissionWhenFull, killMidJob, freezeMidJob];

/** Whether a row name is selected by --only (prefixes; "a" and "scenario:a" both mean "a-…"). */
export function selects(only: string[], name: string): boolean {
  if (!only.length) return true;
  return only.some((raw) => {
    const p = raw.replace(/^scenario:/, '');
    if (/^[a-g]$/.test(p)) return name.startsWith(`${p}-`);
    return name.startsWith(p);
  });
}

interface Suite {
  options: FaultOptions;
  token: string;
  daemon?: DaemonProcess | undefined;
  models?: ListModelsResponse__Output;
  /** The shared daemon's (re)start in progress: callers at the same time share it rather than each starting one. */
  starting?: Promise<DaemonProcess> | undefined;
}

async function startDaemon(suite: Suite, args: string[] = []): Promise<DaemonProcess> {
  return DaemonProcess.start({
    script: suite.options.daemonScript,
    modelsDir: suite.options.modelsDir,
    model: suite.options.model,
    args: [...suite.options.daemonArgs, ...args],
    // The token travels in the environment, never on a command line (issue 19, item 7).
    env: { ANIMATE_TOKEN: suite.token },
  });
}

async function listModels(daemon: DaemonProcess, token: string): Promise<ListModelsResponse__Output> {
  const conn = connectAnimator(daemon.address, { token });
  try {
    return await conn.listModels();
  } finally {
    conn.close();
  }
}

function smallJobFor(models: ListModelsResponse__Output): SmallJob {
  const info = models.models.find((m) => m.name === models.defaultModel) ?? models.models[0]!;
  return { prompt: info.examplePrompts[0] ?? 'a red ball', steps: info.limits!.minSteps, frames: Math.max(1, info.limits!.minFrames) };
}

async function sharedDaemon(suite: Suite): Promise<DaemonProcess> {
  if (suite.daemon?.alive()) return suite.daemon;
  // One restart at a time: two callers each starting a daemon would leave the first running, owned by nobody.
  suite.starting ??= (async () => {
    await suite.daemon?.stop();
    suite.daemon = undefined;
    const daemon = await startDaemon(suite);
    suite.daemon = daemon;
    suite.models ??= await listModels(daemon, suite.token);
    return daemon;
  })().finally(() => (suite.starting = undefined));
  return suite.starting;
}

async function runFuzzRows(suite: Suite, cases: FuzzCase[]): Promise<CaseRow[]> {
  const o = suite.options;
  const rows: CaseRow[] = [];
  const groups = [...new Set(cases.map((c) => c.group))];
  for (const group of groups) {
    const mine = cases.filter((c) => c.group === group);
    const row = new RowBuilder(group);
    const daemon = await sharedDaemon(suite);
    const sampler = new RssSampler(() => suite.daemon);
    await runFuzz(mine, {
      daemon,
      token: suite.token,
      deadlineMs: o.callDeadlineMs,
      concurrency: o.fuzzConcurrency,
      onVerdict: (v) => {
        row.row.cases += 1;
        for (const p of v.problems) row.fail(p.kind, p.why);
      },
      onCrash: async (why) => {
        row.fail('crashes', `${why}; last output: ${suite.daemon?.tail.slice(-3).join(' | ')}`);
        return sharedDaemon(suite);
      },
    });
    rows.push(row.finish(sampler.stop()));
    o.log(`${row.row.passed ? 'pass' : 'FAIL'}  ${group}: ${row.row.cases} cases`);
  }
  // After the whole fuzz: the same daemon still serves, down to a real generation.
  const after = new RowBuilder('fuzz:after (alive, health, generation)');
  after.row.cases = 1;
  const daemon = suite.daemon!;
  const sampler = new RssSampler(() => daemon);
  const why = await stillServing(daemon, suite.token, smallJobFor(suite.models!), o.callDeadlineMs);
  if (why) after.fail(daemon.alive() ? 'badStatus' : 'crashes', why);
  rows.push(after.finish(sampler.stop()));
  return rows;
}

async function runScenario(suite: Suite, scenario: Scenario): Promise<CaseRow> {
  const o = suite.options;
  const row = new RowBuilder(scenario.name);
  let daemon: DaemonProcess;
  try {
    daemon = scenario.ownDaemon ? await startDaemon(suite, scenario.ownDaemon(o)) : await sharedDaemon(suite);
  } catch (err) {
    row.note(`the daemon did not start: ${(err as Error).message}`);
    return row.finish(undefined);
  }
  const models = suite.models ?? (suite.models = await listModels(daemon, suite.token));
  const sampler = new RssSampler(() => daemon);
  const ctx: ScenarioContext = { daemon, token: suite.token, options: o, small: smallJobFor(models), long: longRequestFor(models), models, row, log: o.log };
  try {
    await scenario.run(ctx);
  } catch (err) {
    row.note(`the scenario threw: ${(err as Error).stack?.split('\n').slice(0, 3).join(' ') ?? String(err)}`);
  }
  if (!scenario.killsDaemon) {
    if (!daemon.alive()) row.fail('crashes', `the daemon died (${daemon.exitDescription()}); last output: ${daemon.tail.slice(-3).join(' | ')}`);
    else {
      const why = await stillServing(daemon, suite.token, ctx.small, o.callDeadlineMs);
      if (why) row.note(`afterwards: ${why}`);
    }
  }
  const peak = sampler.stop();
  if (scenario.ownDaemon) await daemon.stop();
  const result = row.finish(peak);
  o.log(`${result.passed ? 'pass' : 'FAIL'}  ${scenario.name}`);
  return result;
}

/** Runs the selected fuzz groups and scenarios and returns the table. Never throws for a failing daemon: that is a row. */
export async function runFaults(input: Partial<FaultOptions> = {}): Promise<FaultReport> {
  const options: FaultOptions = { ...DEFAULT_FAULT_OPTIONS, ...input };
  const suite: Suite = { options, token: randomBytes(16).toString('hex') };
  const rows: CaseRow[] = [];
  try {
    const wantsFuzz = ['fuzz:'].some((p) => selects(options.only, p)) || options.only.some((p) => p.startsWith('fuzz'));
    if (wantsFuzz) {
      const daemon = await sharedDaemon(suite);
      const small = smallJobFor(suite.models!);
      const cases = buildFuzzCases(options.cases, options.seed, { prompt: small.prompt, minSteps: small.steps, minFrames: small.frames }).filter((c) => selects(options.only, c.group) || selects(options.only, 'fuzz:'));
      options.log(`fuzz: ${cases.length} cases (seed ${options.seed}) against daemon pid ${daemon.pid} on ${daemon.address}`);
      rows.push(...(await runFuzzRows(suite, cases)));
    }
    for (const scenario of SCENARIOS) {
      if (selects(options.only, scenario.name)) rows.push(await runScenario(suite, scenario));
    }
  } finally {
    await suite.daemon?.stop();
  }
  return { seed: options.seed, rows, passed: rows.length > 0 && rows.every((r) => r.passed) };
}
