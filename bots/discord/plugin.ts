// The Discord front-end as a plugin: mounts /animate, its buttons and modal, thread follow-ups and @mention Q&A
// into an existing discord.js Client, handling only what is ours (the command name, `animate:` custom ids,
// messages that address the bot) and leaving every other handler of the host bot alone. This file wires the parts:
// settings (plugin-settings.ts), surfaces (job-surfaces.ts), interactions (interactions.ts: the command and the
// buttons) and messages (mentions.ts).
import { Events, type Client, type Interaction, type Message, type RepliableInteraction } from 'discord.js';
import type { ChatAdapter, Requester } from '../core/adapter.ts';
import { createBotCore, type AnimateResult, type BotCore, type BotCoreOptions } from '../core/bot.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import { consoleLogger, type Logger } from '../core/logger.ts';
import { forwardClientEvents } from './client-events.ts';
import { animateCommand } from './commands.ts';
import { handleInteraction } from './interactions.ts';
import { DiscordSurfaces } from './job-surfaces.ts';
import { handleMessage } from './mentions.ts';
import type { DiscordPluginContext } from './plugin-context.ts';
import { parsePluginSettings, type PluginSettings } from './plugin-settings.ts';
import { requesterFromInteraction, requesterFromMessage } from './requester.ts';
import type { DiscordSurfaceShared } from './surface.ts';
import type { ClipLinker } from './upload-choice.ts';

export { DEFAULT_UPDATE_INTERVAL_MS, DEFAULT_UPLOAD_LIMIT_BYTES } from './plugin-settings.ts';

export interface AnimatePluginOptions {
  /**
   * The host bot's client: needs the Guilds intent, and GuildMessages for follow-ups and Q&A (by @mention, whose
   * text Discord sends without the privileged Message Content intent; with it, replies that do not ping work too).
   */
  client: Client;
  /** A core to share; or `daemon` to make one. */
  core?: BotCore;
  daemon?: { address: string; token?: string | undefined; tls?: BotCoreOptions['tls'] };
  /** Extra options when the core is made here. */
  coreOptions?: Omit<BotCoreOptions, 'connection' | 'daemonAddress' | 'token' | 'tls'>;
  /** Slash command name. Default "animate". */
  commandName?: string;
  /** Minimum time between edits of one job's message. Default DEFAULT_UPDATE_INTERVAL_MS (1200 ms). */
  updateIntervalMs?: number;
  /** Upload limit when an interaction reports none (messages, plugin calls). Default DEFAULT_UPLOAD_LIMIT_BYTES (10 MiB). */
  defaultUploadLimitBytes?: number;
  /** Longest side of previews, 32..512. Default DEFAULT_PREVIEW_MAX_SIDE (256). */
  previewMaxSide?: number;
  /** Default webp. */
  previewFormat?: 'webp' | 'gif';
  /** Answer @mentions (Q&A) and thread follow-ups. Default true. */
  mentions?: boolean;
  /** Hosts attached images are fetched from. Default DISCORD_IMAGE_HOSTS (Discord's CDN); tests add the emulator's. */
  imageHosts?: string[];
  /** Fetch attached images over plain http (emulators only). Default false. */
  allowHttpImages?: boolean;
  /** Largest attached image fetched. Default DEFAULT_IMAGE_MAX_BYTES (10 MiB). */
  maxImageBytes?: number;
  /** How long fetching an attached image may take. Default DEFAULT_IMAGE_TIMEOUT_MS (15 s). */
  imageTimeoutMs?: number;
  /** Publishes clips that no re-encoding fits under the upload limit. */
  linker?: ClipLinker;
  clock?: Clock;
  logger?: Logger;
}

export interface ReplyWithClipOptions {
  /** Who the clip is for (default: the message author / the interaction user). */
  requester?: Requester;
}

export interface AnimatePlugin {
  readonly core: BotCore;
  readonly adapter: ChatAdapter;
  readonly commandName: string;
  /** The command definitions to register (see registerCommands). */
  readonly commands: ReturnType<typeof animateCommand>[];
  /** Starts listening on the client. Idempotent. */
  attach(): AnimatePlugin;
  /** Stops listening; running jobs carry on. */
  detach(): void;
  /**
   * For other bots: answers `target` (a message, or an interaction not yet answered or already answered) with a
   * clip of `prompt` (a question works too), with the same live previews and thread as /animate.
   */
  replyWithClip(target: Message | RepliableInteraction, prompt: string, options?: ReplyWithClipOptions): Promise<AnimateResult>;
  /** The handlers attach() installs, for hosts that route events themselves. Resolve true when the event was ours. */
  handleInteraction(interaction: Interaction): Promise<boolean>;
  handleMessage(message: Message): Promise<boolean>;
  /** Detaches, and closes the core if the plugin made it. */
  close(): Promise<void>;
}

/** The core to drive: the one given, or one made here from `daemon` (then the plugin closes it). */
function coreFor(options: AnimatePluginOptions, clock: Clock, logger: Logger): { core: BotCore; owned: boolean } {
  if (options.core) return { core: options.core, owned: false };
  if (!options.daemon) throw new TypeError('createAnimatePlugin needs `core` or `daemon: { address }`');
  const { address, token, tls } = options.daemon;
  return { core: createBotCore({ daemonAddress: address, token, tls, clock, logger, ...options.coreOptions }), owned: true };
}

function discordAdapter(settings: PluginSettings): ChatAdapter {
  return {
    platform: 'discord',
    limits: { minUpdateIntervalMs: settings.updateIntervalMs, maxUploadBytes: settings.defaultUploadLimitBytes },
    clipFormats: ['mp4'],
    previewFormat: settings.previewFormat,
    previewMaxSide: settings.previewMaxSide,
  };
}

/** For other bots: a clip on a message (a thread on it) or on an interaction (its reply, or a follow-up). */
async function replyWithClip(ctx: DiscordPluginContext, target: Message | RepliableInteraction, prompt: string, opts: ReplyWithClipOptions): Promise<AnimateResult> {
  if ('author' in target) {
    const surface = await ctx.surfaces.forMessage(target, prompt);
    return ctx.core.ask(surface, prompt, opts.requester ?? requesterFromMessage(target), { requestId: `discord-plugin-${target.id}` });
  }
  const receivedAt = ctx.clock.now();
  const answered = target.deferred || target.replied;
  if (!answered) await target.deferReply();
  const surface = await ctx.surfaces.forInteraction(target, prompt, receivedAt, answered ? 'follow-up' : 'original');
  return ctx.core.ask(surface, prompt, opts.requester ?? requesterFromInteraction(target), { requestId: `discord-plugin-${target.id}` });
}

export function createAnimatePlugin(options: AnimatePluginOptions): AnimatePlugin {
  const settings = parsePluginSettings(options);
  const { client } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? consoleLogger('[discord]');
  const { core, owned } = coreFor(options, clock, logger);
  const adapter = discordAdapter(settings);
  const shared: DiscordSurfaceShared = { adapter, logger, clock, linker: options.linker, linkThread: (threadId, jobId) => core.linkThread(threadId, jobId) };
  const surfaces = new DiscordSurfaces({ client, shared, clock, logger, defaultUploadLimitBytes: settings.defaultUploadLimitBytes });
  const ctx: DiscordPluginContext = { client, core, settings, surfaces, clock, logger };

  const onInteractionEvent = (interaction: Interaction) => void handleInteraction(ctx, interaction);
  const onMessageEvent = (message: Message) => void handleMessage(ctx, message);
  let attached = false;
  /** Undoes forwardClientEvents; set while attached. */
  let stopForwarding: (() => void) | undefined;
  const plugin: AnimatePlugin = {
    core,
    adapter,
    commandName: settings.commandName,
    commands: [animateCommand(settings.commandName)],
    attach() {
      if (!attached) {
        client.on(Events.InteractionCreate, onInteractionEvent);
        client.on(Events.MessageCreate, onMessageEvent);
        // discord.js's warnings, errors and 429s into this plugin's logger and the core's metrics, for a host's client
        // too (it has no other way to count the 429s of our requests); detach() removes the listeners.
        stopForwarding = forwardClientEvents(client, { logger, metrics: core.metrics });
        attached = true;
      }
      return plugin;
    },
    detach() {
      client.off(Events.InteractionCreate, onInteractionEvent);
      client.off(Events.MessageCreate, onMessageEvent);
      stopForwarding?.();
      stopForwarding = undefined;
      attached = false;
    },
    replyWithClip: (target, prompt, opts = {}) => replyWithClip(ctx, target, prompt, opts),
    handleInteraction: (interaction) => handleInteraction(ctx, interaction),
    handleMessage: (message) => handleMessage(ctx, message),
    async close() {
      plugin.detach();
      if (owned) await core.close();
    },
  };
  return plugin;
}
