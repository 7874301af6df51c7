// `npm start`: the newcomer path. Reads the one configuration, starts the daemon with the embedded model (unless
// ANIMATE_DAEMON_ADDRESS points at another one), the local playground, and the Discord / Slack bots whose
// credentials are present; prints what runs where; Ctrl-C (SIGINT / SIGTERM) stops everything cleanly.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, helpText, loadConfig, type AppConfig } from '../shared/config/index.ts';
import { createBotCore, type BotCore } from './core/bot.ts';
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
  stop(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Prints a line (default console.log); tests collect them. */
  print?: (line: string) => void;
}

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
  const stopAll = async () => {
    for (const s of [...services].reverse()) {
      try {
        await s.stop();
      } catch (err) {
        logger.error(`stopping ${s.name} failed`, err);
      }
    }
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
        ...(config.daemon.token ? { token: config.daemon.token } : {}),
      });
      daemonAddress = daemon.address;
      services.push({ name: 'Daemon', where: `grpc://${daemon.address} (model ${config.daemon.defaultModel}, ${config.daemon.executionProvider})`, stop: () => daemon.close({ graceMs: 2000 }) });
    }

    const core = createBotCore({ daemonAddress, token: config.daemon.token, logger: consoleLogger('[bot-core]') });
    services.push({ name: 'Bot core', where: `→ ${daemonAddress}`, stop: () => core.close() });

    let playgroundUrl: string | undefined;
    if (config.playground.enabled) {
      const playground = await startPlayground({ core, host: config.playground.host, port: config.playground.port, logger: consoleLogger('[playground]') });
      playgroundUrl = playground.url;
      services.push({ name: 'Playground', where: playground.url, stop: () => playground.close() });
    } else notes.push('Playground off (PLAYGROUND_ENABLED=false).');

    const deps = { core, daemon: { address: daemonAddress, token: config.daemon.token } };
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
    return { config, core, daemonAddress, playgroundUrl, services, notes, stop: stopAll };
  } catch (err) {
    await stopAll();
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
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      console.error('Stopping now.');
      process.exit(130);
    }
    stopping = true;
    console.log(`\n${signal}: stopping (Ctrl-C again to force)…`);
    running.stop().then(
      () => {
        console.log('Stopped.');
        process.exit(0);
      },
      (err: unknown) => {
        console.error('Stopping failed:', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) void main();
