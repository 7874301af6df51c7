// `npm start`: the newcomer path, and the front door above both wings (inference/ and bots/): the one place that
// starts the whole product. Reads the one configuration, starts the daemon with the embedded model (unless
// ANIMATE_DAEMON_ADDRESS points at another one), the bot core, and the front-ends that the configuration turns on
// (front-ends.ts: the playground, and the Discord / Slack bots whose credentials are present); prints what runs
// where. Ctrl-C (SIGINT / SIGTERM) drains: the running clips are finished and delivered, the people still waiting
// are told to send again, then everything stops and the process exits 0; a second Ctrl-C stops at once (exit 130).
// See stopAll() for the order and shared/shutdown-signals.ts for how the copies of one Ctrl-C that the launchers
// forward are told apart from a second press.
// package.json runs this as `exec node --import tsx app/start.ts`: no tsx launcher process (it relays SIGINT and
// SIGKILLs a child that does not acknowledge within 30 ms) and no `sh -c` between npm and node (dash kills itself
// with SIGINT after its child ends, so npm would exit "killed by SIGINT" however cleanly the drain went).
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, helpText, loadConfig, readSetting, type AppConfig } from '../shared/config/index.ts';
import { readBlocklistFile } from '../inference/policy/blocklist-file.ts';
import { DRAIN_OVERRUN_S, FORCE_BOUND_MS, onShutdownSignals } from '../shared/shutdown-signals.ts';
import { createBotCore, type BotCore, type CloseSummary } from '../bots/core/bot.ts';
import type { FrontEnd } from '../bots/core/front-end.ts';
import { botLogger, type Logger } from '../bots/core/logger.ts';
import { BotMetrics } from '../bots/core/metrics.ts';
import { EXAMPLE_COMMAND } from '../shared/wire/examples.ts';
import { daemonLogger } from '../inference/log.ts';
import { loggerFromSettings, type PinoLogger } from '../shared/log/create-logger.ts';
import { routeGrpcLogs } from '../shared/log/grpc.ts';
import type { RunningMetricsServer } from '../shared/metrics/server.ts';
import { startEmbeddedDaemon, type EmbeddedDaemon } from './daemon.ts';
import { StartAbortedError, throwIfAborted, untilAborted } from './start-abort.ts';
import { NoFrontEndStartedError } from './start-errors.ts';
import { startAppMetrics } from './metrics.ts';
import { FRONT_ENDS, type FrontEndChoice } from './front-ends.ts';
import { versionLine } from '../inference/cli/version.ts';

/** One line of the start-up summary (stopping is stopAll's, in its order). */
export interface StartedService {
  name: string;
  /** Where it is reachable, for the summary. */
  where: string;
}

export interface StartedAll {
  config: AppConfig;
  core: BotCore;
  daemonAddress: string;
  /** The page to open (the playground's URL), when a front-end offers one. */
  playgroundUrl: string | undefined;
  services: StartedService[];
  /** Notes about what was skipped and why. */
  notes: string[];
  /** How long stop() lets running clips finish (ANIMATE_DRAIN_SECONDS), in ms. */
  drainMs: number;
  /** Drains and stops everything (see stopAll); resolves with what the bot core did. */
  stop(): Promise<CloseSummary | undefined>;
  /** A second Ctrl-C: stops the running jobs now (their people are told), and ends the inference worker cleanly. */
  force(): Promise<void>;
}

export interface StartOptions {
  /** The process's one logger (main() makes it from ANIMATE_LOG_LEVEL / ANIMATE_LOG_FORMAT). Default: made so here. */
  root?: PinoLogger;
  /** Overrides the bots' loggers (start, bot core, front-ends), e.g. silentLogger in tests. Default: children of root. */
  logger?: Logger;
  /** Prints a line (default console.log); tests collect them. */
  print?: (line: string) => void;
  /** The front-ends to consider, in start order. Default FRONT_ENDS (front-ends.ts). */
  frontEnds?: readonly FrontEndChoice[];
  /**
   * Calls the start off (Ctrl-C during start-up): the step under way is given up at once (a front-end still
   * connecting is stopped, which calls its connection off), what started is stopped, and startAll rejects with
   * StartAbortedError (start-abort.ts). Default: none.
   */
  signal?: AbortSignal;
}

export async function startAll(config: AppConfig, options: StartOptions = {}): Promise<StartedAll> {
  const root = options.root ?? loggerFromSettings(config.daemon);
  // Each part logs with its scope on every line; a logger given in options (tests) replaces the bots' ones.
  const scoped = (scope: string): Logger => options.logger ?? botLogger(root.child({ scope }));
  const logger = scoped('start');
  const print = options.print ?? ((line: string) => console.log(line));
  const services: StartedService[] = [];
  const notes: string[] = [];
  const drainMs = config.daemon.drainSeconds * 1000;
  let daemonRef: EmbeddedDaemon | undefined;
  let coreRef: BotCore | undefined;
  let metricsServer: RunningMetricsServer | undefined;
  let stopping = false;
  const started: FrontEnd[] = [];
  const attempt = async <T>(what: string, step: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await step();
    } catch (err) {
      logger.error(`stopping ${what} failed`, err);
      return undefined;
    }
  };
  /**
   * The order that keeps every person informed:
   * 1. the core takes no new requests (every front-end goes through it), tells the people still waiting to send
   *    again, and relays the running jobs to their surfaces until they end or `drain` passes;
   * 2. meanwhile the daemon refuses new calls and finishes its running jobs (graceMs = the same drain);
   * 3. then the front-ends (bots, playground HTTP server) close, in reverse start order, a moment later if one asks
   *    to linger after clips were delivered (the playground page fetches the clip it was just sent); they had to stay
   *    up until here to deliver;
   * 4. last the daemon, whose inference worker ends once its current call has returned (no native abort).
   */
  const stopAll = async (drain: number): Promise<CloseSummary | undefined> => {
    stopping = true;
    const core = coreRef;
    const daemon = daemonRef;
    const coreClosing = core ? attempt('Bot core', () => core.close({ drainMs: drain })) : Promise.resolve(undefined);
    const daemonClosing = daemon ? attempt('Daemon', () => daemon.close({ graceMs: drain })) : Promise.resolve();
    const summary = await coreClosing;
    const linger = Math.max(0, ...started.map((f) => f.lingerMs ?? 0));
    if (summary?.delivered && linger > 0) await new Promise((r) => setTimeout(r, linger));
    for (const f of [...started].reverse()) await attempt(f.name, () => f.stop());
    await daemonClosing;
    const served = metricsServer;
    if (served) await attempt('Metrics', () => served.close());
    return summary;
  };
  const force = async (): Promise<void> => {
    // Both close() calls are already running; called again with 0 they stop the running jobs now.
    const core = coreRef;
    const coreClosing = core ? attempt('Bot core', () => core.close({ drainMs: 0 })) : Promise.resolve(undefined);
    await attempt('Daemon', async () => daemonRef?.close({ graceMs: 0 }));
    await coreClosing;
  };

  try {
    let daemonAddress: string;
    if (config.daemon.remoteAddress) {
      daemonAddress = config.daemon.remoteAddress;
      notes.push(`Using the remote daemon at ${daemonAddress} (ANIMATE_DAEMON_ADDRESS); no local daemon started.`);
    } else {
      const daemon = await startEmbeddedDaemon(config, { logger: daemonLogger(root.child({ scope: 'daemon' })) });
      daemonAddress = daemon.address;
      daemonRef = daemon;
      services.push({ name: 'Daemon', where: daemon.where });
    }

    // The embedded daemon's registry carries the process metrics; the bots' adds only its own then (no duplicates).
    const metrics = new BotMetrics({ defaultMetrics: !daemonRef });
    // The bots' early, private refusals use the daemon's list (README "Moderation"), so ANIMATE_BLOCKLIST_FILE governs both.
    const blocklistFile = readSetting(config.env, 'ANIMATE_BLOCKLIST_FILE') as string | undefined;
    const filter = blocklistFile ? { blockedTerms: readBlocklistFile(path.resolve(blocklistFile)) } : undefined;
    const core = createBotCore({ daemonAddress, token: config.daemon.token, tls: config.daemon.clientTls, logger: scoped('bot-core'), metrics, ...(filter ? { filter } : {}) });
    coreRef = core;
    services.push({ name: 'Bot core', where: `→ ${daemonAddress}` });
    if (config.daemon.metricsListen) {
      metricsServer = await startAppMetrics({
        listen: config.daemon.metricsListen,
        registries: daemonRef ? [daemonRef.metrics.registry, metrics.registry] : [metrics.registry],
        healthy: () => !stopping,
      });
      services.push({ name: 'Metrics', where: `http://${metricsServer.address}/metrics` });
    }

    const choices = options.frontEnds ?? FRONT_ENDS;
    let failed = 0;
    for (const choice of choices) {
      throwIfAborted(options.signal);
      if (!choice.enabled(config)) {
        notes.push(choice.off);
        continue;
      }
      let frontEnd: FrontEnd | undefined;
      try {
        frontEnd = choice.create(config, { core, logger: scoped(choice.name.toLowerCase()) });
        await untilAborted(frontEnd.start(), options.signal);
        started.push(frontEnd);
        services.push({ name: frontEnd.name, where: frontEnd.where });
      } catch (err) {
        // One front-end failing (bad token, network, a busy port) must not take the others down: say why and go on,
        // after letting go of whatever it had opened (a logged-in client, a listening port).
        const failing = frontEnd;
        if (failing) await attempt(choice.name, () => failing.stop());
        // Called off: not this front-end's failure; the whole start ends (below, stopping what had started).
        if (options.signal?.aborted) throw err;
        failed++;
        notes.push(`${choice.name} failed to start: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    // ...unless none is left: a daemon nobody can reach through a front-end is no product; stop and say why.
    if (failed > 0 && started.length === 0) throw new NoFrontEndStartedError(`No front-end started:\n${notes.map((n) => `  · ${n}`).join('\n')}`);

    const playgroundUrl = started.find((f) => f.openUrl)?.openUrl;
    print('');
    print('animate is running:');
    for (const s of services) if (s.name !== 'Bot core') print(`  ${s.name.padEnd(11)} ${s.where}`);
    for (const n of notes) print(`  · ${n}`);
    if (playgroundUrl) print(`\nOpen ${playgroundUrl} and type: ${EXAMPLE_COMMAND}`);
    print('Press Ctrl-C to stop.');
    return { config, core, daemonAddress, playgroundUrl, services, notes, drainMs, stop: () => stopAll(drainMs), force };
  } catch (err) {
    await stopAll(0);
    throw err;
  }
}

async function main(): Promise<void> {
  // --version before the configuration: it needs none, and must print even where a setting is bad.
  if (process.argv.slice(2).includes('--version')) {
    console.log(versionLine());
    return;
  }
  let config: AppConfig;
  try {
    config = loadConfig(process.env, process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  if (config.help) {
    console.log(helpText());
    return;
  }
  // One logger for the process, from the settings; grpc-js's own lines go into it at the same level.
  const root = loggerFromSettings(config.daemon);
  routeGrpcLogs(root, config.daemon.logLevel);
  let running: StartedAll;
  // Ctrl-C during start-up calls the start off (a front-end still connecting is not waited out) and exits 130, as a
  // forced stop does; a second press while that cleanup runs exits at once. Replaced by the drain handling below.
  const calledOff = new AbortController();
  const duringStart = onShutdownSignals({
    onDrain: (signal) => {
      console.error(`\n${signal} during start-up: stopping what has started. Ctrl-C again to stop now.`);
      calledOff.abort();
      setTimeout(() => process.exit(130), FORCE_BOUND_MS).unref();
    },
    onForce: () => process.exit(130),
  });
  try {
    running = await startAll(config, { root, signal: calledOff.signal });
  } catch (err) {
    if (err instanceof StartAbortedError || calledOff.signal.aborted) {
      console.error('Stopped during start-up.');
      process.exit(130);
    }
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  } finally {
    duringStart.dispose();
  }
  const seconds = Math.round(running.drainMs / 1000);
  let forcing = false;
  const forceExit = (why: string) => {
    forcing = true;
    console.error(why);
    // The worker is ended before exiting (process.exit with an onnxruntime call in flight aborts natively); bounded,
    // should one call never return.
    const bound = setTimeout(() => process.exit(130), FORCE_BOUND_MS);
    bound.unref();
    void running.force().finally(() => process.exit(130));
  };
  onShutdownSignals({
    onDrain: (signal) => {
      console.log(`\n${signal}: finishing the running clips (up to ${seconds} s), telling the people waiting to send again, then stopping. Ctrl-C again to stop now.`);
      // A drain that outlives its timeout by far (a surface or the daemon not answering) is forced rather than left hanging.
      setTimeout(() => forceExit(`Still not stopped ${seconds + DRAIN_OVERRUN_S} s after ${signal}: stopping now.`), running.drainMs + DRAIN_OVERRUN_S * 1000).unref();
      running.stop().then(
        (summary) => {
          const clips = (n: number) => `${n} clip${n === 1 ? '' : 's'}`;
          console.log(summary ? `Stopped. ${clips(summary.delivered)} delivered while stopping, ${summary.toldToResend} waiting told to send again, ${summary.stopped} stopped unfinished.` : 'Stopped.');
          // A forced stop ends the drain early too; it still exits as forced.
          process.exit(forcing ? 130 : 0);
        },
        (err: unknown) => {
          console.error('Stopping failed:', err);
          process.exit(1);
        },
      );
    },
    onForce: (signal) => forceExit(`${signal} again: stopping now; running clips are stopped and their people told.`),
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) void main();
