// `npm start`: the newcomer path. Reads the one configuration, starts the daemon with the embedded model (unless
// ANIMATE_DAEMON_ADDRESS points at another one), the local playground, and the Discord / Slack bots whose
// credentials are present; prints what runs where. Ctrl-C (SIGINT / SIGTERM) drains: the running clips are
// finished and delivered, the people still waiting are told to send again, then everything stops and the process
// exits 0; a second Ctrl-C stops at once (exit 130). See stopAll() for the order and shared/shutdown-signals.ts for
// how the copies of one Ctrl-C that the launchers forward are told apart from a second press.
// package.json runs this as `exec node --import tsx bots/start.ts`: no tsx launcher process (it relays SIGINT and
// SIGKILLs a child that does not acknowledge within 30 ms) and no `sh -c` between npm and node (dash kills itself
// with SIGINT after its child ends, so npm would exit "killed by SIGINT" however cleanly the drain went).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, helpText, loadConfig, type AppConfig } from '../shared/config/index.ts';
import { onShutdownSignals } from '../shared/shutdown-signals.ts';
import { createBotCore, type BotCore, type CloseSummary } from './core/bot.ts';
import { consoleLogger, type Logger } from './core/logger.ts';
import { startPlayground } from './playground/server.ts';

export interface StartedService {
  name: string;
  /** Where it is reachable, for the summary. */
  where: string;
  stop(): Promise<void>;
}

export interface StartedAll {
  config: AppConfig;
  core: BotCore;
  daemonAddress: string;
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
  logger?: Logger;
  /** Prints a line (default console.log); tests collect them. */
  print?: (line: string) => void;
}

/** A forced stop waits at most this long for the inference worker's current call before exiting anyway. */
const FORCE_BOUND_MS = 10_000;
/** Seconds past the drain timeout after which a drain that has not finished is forced. */
const DRAIN_OVERRUN_S = 15;
/** After a drain delivered clips, the playground stays up this long so the page can still fetch the clip it was just sent. */
const PLAYGROUND_LINGER_MS = 1500;

type BotModule = Record<string, unknown>;
type Stoppable = { stop?: () => Promise<void>; close?: () => Promise<void>; destroy?: () => Promise<void> | void };

/** Imports a bot entry point lazily, so a missing or broken front-end only skips that front-end. */
async function importBot(relative: string): Promise<BotModule | string> {
  const file = new URL(relative, import.meta.url);
  if (!existsSync(file)) return `${path.relative(process.cwd(), file.pathname)} is not there`;
  try {
    return (await import(file.href)) as BotModule;
  } catch (err) {
    return `${relative} failed to load: ${err instanceof Error ? err.message : String(err)}`;
  }
}

async function startBot(
  name: 'Discord' | 'Slack',
  entry: string,
  startName: string,
  loadName: string,
  section: unknown,
  config: AppConfig,
  deps: Record<string, unknown>,
): Promise<StartedService | string> {
  const mod = await importBot(entry);
  if (typeof mod === 'string') return `${name} skipped: ${mod}.`;
  const start = mod[startName];
  if (typeof start !== 'function') return `${name} skipped: ${entry} has no ${startName}().`;
  // A front-end with its own settings loader reads them from the merged environment (it names missing ones).
  const load = mod[loadName];
  const botConfig = typeof load === 'function' ? (load as (env: unknown) => unknown)(config.env) : section;
  const running = (await (start as (c: unknown, d: unknown) => Promise<Stoppable & Record<string, unknown>>)(botConfig, deps)) ?? {};
  const where = typeof running.url === 'string' ? running.url : name === 'Slack' ? `Socket Mode (${String((botConfig as { mode?: string })?.mode ?? 'socket')})` : 'gateway';
  return {
    name,
    where,
    async stop() {
      if (running.stop) await running.stop();
      else if (running.close) await running.close();
      else if (running.destroy) await running.destroy();
    },
  };
}

export async function startAll(config: AppConfig, options: StartOptions = {}): Promise<StartedAll> {
  const logger = options.logger ?? consoleLogger('[start]');
  const print = options.print ?? ((line: string) => console.log(line));
  const services: StartedService[] = [];
  const notes: string[] = [];
  const drainMs = config.daemon.drainSeconds * 1000;
  let daemonRef: { close(options?: { graceMs?: number }): Promise<void> } | undefined;
  let coreRef: BotCore | undefined;
  let playgroundUp = false;
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
   * 3. then the front-ends (bots, playground HTTP server) close, the playground a moment later if it was just sent a
   *    clip, so that the page can fetch it; they had to stay up until here to deliver;
   * 4. last the daemon, whose inference worker ends once its current call has returned (no native abort).
   */
  const stopAll = async (drain: number): Promise<CloseSummary | undefined> => {
    const core = coreRef;
    const daemon = daemonRef;
    const coreClosing = core ? attempt('Bot core', () => core.close({ drainMs: drain })) : Promise.resolve(undefined);
    const daemonClosing = daemon ? attempt('Daemon', () => daemon.close({ graceMs: drain })) : Promise.resolve();
    const summary = await coreClosing;
    if (summary?.delivered && playgroundUp) await new Promise((r) => setTimeout(r, PLAYGROUND_LINGER_MS));
    for (const s of [...services].reverse()) if (s.name !== 'Daemon' && s.name !== 'Bot core') await attempt(s.name, () => s.stop());
    await daemonClosing;
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
      const modelDir = path.join(config.daemon.modelsDir, config.daemon.defaultModel);
      if (!existsSync(modelDir))
        throw new ConfigError([
          `ANIMATE_DEFAULT_MODEL=${config.daemon.defaultModel} is not a folder in ANIMATE_MODELS_DIR (${config.daemon.modelsDir}). Put a model package there (docs/model-package.md) or set ANIMATE_DAEMON_ADDRESS to use a running daemon.`,
        ]);
      const { startDaemon } = await import('../inference/server/daemon.ts');
      const daemon = await startDaemon({
        listen: config.daemon.listen,
        modelsDir: config.daemon.modelsDir,
        defaultModel: config.daemon.defaultModel,
        concurrency: config.daemon.concurrency,
        maxQueue: config.daemon.maxQueue,
        maxQueuePerUser: config.daemon.maxQueuePerUser,
        threads: config.daemon.threads,
        executionProvider: config.daemon.executionProvider,
        maxStreamsPerJob: config.daemon.maxStreamsPerJob,
        maxStreamsPerConnection: config.daemon.maxStreamsPerConnection,
        ...(config.daemon.token ? { token: config.daemon.token } : {}),
        ...(config.daemon.tls ? { tls: config.daemon.tls } : {}),
      });
      daemonAddress = daemon.address;
      daemonRef = daemon;
      services.push({ name: 'Daemon', where: `grpc://${daemon.address} (model ${config.daemon.defaultModel}, ${config.daemon.executionProvider})`, stop: () => daemon.close({ graceMs: 0 }) });
    }

    const core = createBotCore({ daemonAddress, token: config.daemon.token, tls: config.daemon.clientTls, logger: consoleLogger('[bot-core]') });
    coreRef = core;
    services.push({ name: 'Bot core', where: `→ ${daemonAddress}`, stop: async () => void (await core.close()) });

    let playgroundUrl: string | undefined;
    if (config.playground.enabled) {
      const playground = await startPlayground({ core, host: config.playground.host, port: config.playground.port, logger: consoleLogger('[playground]') });
      playgroundUrl = playground.url;
      playgroundUp = true;
      services.push({ name: 'Playground', where: playground.url, stop: () => playground.close() });
    } else notes.push('Playground off (PLAYGROUND_ENABLED=false).');

    const deps = { core, daemon: { address: daemonAddress, token: config.daemon.token, tls: config.daemon.clientTls } };
    const bots: Array<[boolean, () => Promise<StartedService | string>, string]> = [
      [config.discord.enabled, () => startBot('Discord', './discord/index.ts', 'startDiscordBot', 'loadDiscordConfig', config.discord, config, deps), 'Discord not started: set DISCORD_TOKEN and DISCORD_APPLICATION_ID to run it.'],
      [config.slack.enabled, () => startBot('Slack', './slack/index.ts', 'startSlackBot', 'loadSlackConfig', config.slack, config, deps), 'Slack not started: set SLACK_BOT_TOKEN (and SLACK_APP_TOKEN or SLACK_SIGNING_SECRET) to run it.'],
    ];
    for (const [enabled, start, skipped] of bots) {
      if (!enabled) {
        notes.push(skipped);
        continue;
      }
      try {
        const result = await start();
        if (typeof result === 'string') notes.push(result);
        else services.push(result);
      } catch (err) {
        // One front-end failing (bad token, network) must not take the others down: say why and go on.
        notes.push(`${skipped.split(' ')[0]} failed to start: ${err instanceof Error ? err.message : String(err)}`);
      }
    }

    print('');
    print('animate is running:');
    for (const s of services) if (s.name !== 'Bot core') print(`  ${s.name.padEnd(11)} ${s.where}`);
    for (const n of notes) print(`  · ${n}`);
    if (playgroundUrl) print(`\nOpen ${playgroundUrl} and type: /animate a red ball bouncing on the grass`);
    print('Press Ctrl-C to stop.');
    return { config, core, daemonAddress, playgroundUrl, services, notes, drainMs, stop: () => stopAll(drainMs), force };
  } catch (err) {
    await stopAll(0);
    throw err;
  }
}

async function main(): Promise<void> {
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
  let running: StartedAll;
  try {
    running = await startAll(config);
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
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
