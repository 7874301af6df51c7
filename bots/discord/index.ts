// Public exports of the Discord front-end: the discord.js plugin (createAnimatePlugin) for an existing bot, the
// standalone bot (startDiscordBot) and its FrontEnd (createDiscordFrontEnd), command registration, and settings.
export { createAnimatePlugin, DEFAULT_UPLOAD_LIMIT_BYTES, DEFAULT_UPDATE_INTERVAL_MS } from './plugin.ts';
export type { AnimatePlugin, AnimatePluginOptions, ReplyWithClipOptions } from './plugin.ts';
export { createDiscordFrontEnd, startDiscordBot, type DiscordBotDeps, type RunningDiscordBot } from './front-end.ts';
export { discordConfigFrom, parseDiscordConfig, DiscordConfigError, type DiscordBotConfig, type DiscordSettings } from './config.ts';
export { registerCommands, type RegisterCommandsOptions } from './register.ts';
export { animateCommand, DEFAULT_COMMAND_NAME } from './commands.ts';
export { gatewayOverride } from './gateway.ts';
export { DiscordJobSurface } from './surface.ts';
export { chooseUpload, type ClipLinker } from './upload-choice.ts';
// A host makes its own metrics object to pass as coreOptions.metrics (or reads core.metrics) and serves its registry.
export { BotMetrics, type BotMetricsOptions } from '../core/metrics.ts';
