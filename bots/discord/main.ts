// `npm run bot:discord`: the Discord bot on its own, against a running daemon. Settings come from the environment
// or .env through shared/config: DISCORD_TOKEN, DISCORD_APPLICATION_ID, DISCORD_GUILD_ID, DISCORD_API_URL,
// DISCORD_GATEWAY_URL, DISCORD_MAX_UPLOAD_MB, DISCORD_MESSAGE_CONTENT, and the daemon's ANIMATE_DAEMON_ADDRESS /
// ANIMATE_LISTEN / ANIMATE_TOKEN / ANIMATE_TLS_*.
// `npm run discord:register` (`main.ts register`): registers /animate in DISCORD_GUILD_ID (development; instant)
// or globally; `-- --global` registers globally even when DISCORD_GUILD_ID is set; `-- --help` prints REGISTER_USAGE
// and exits 0 whatever is set.
import { CliUsageError, parseCli, type FlagSpecs } from '../../shared/cli-args.ts';
import { ConfigError, loadConfig } from '../../shared/config/index.ts';
import { runStandalone } from '../core/standalone.ts';
import { discordConfigFrom } from './config.ts';
import { createDiscordFrontEnd } from './front-end.ts';
import { registerCommands } from './register.ts';

/** `npm run discord:register -- --help`: printed without any setting needed, so a newcomer can read it first. */
const REGISTER_USAGE = `Usage: npm run discord:register [-- --global]

Registers the /animate slash command with Discord (once, and again after the command's options change).
  (no flag)   in the server DISCORD_GUILD_ID when it is set (appears at once: for development), else globally
  --global    globally, in every server the bot is in, even when DISCORD_GUILD_ID is set (can take up to an hour)
  --help, -h  this text

Needs DISCORD_TOKEN (Developer Portal → Bot → Token) and DISCORD_APPLICATION_ID (Developer Portal → General
Information), in the environment or .env; DISCORD_API_URL points it at another REST endpoint (an emulator).
Every setting: npm start -- --help`;

/** `register`'s flags, read by the command lines' one parser (shared/cli-args.ts: did-you-mean, the flags allowed). */
const REGISTER_FLAGS = { global: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } satisfies FlagSpecs;
const REGISTER_PROGRAM = { name: 'discord:register', help: 'npm run discord:register -- --help' };

async function register(args: readonly string[]): Promise<void> {
  let flags;
  try {
    flags = parseCli(REGISTER_PROGRAM, args, REGISTER_FLAGS, false).values;
  } catch (error) {
    if (!(error instanceof CliUsageError)) throw error;
    console.error(`Cannot register commands: ${error.message}\n\n${REGISTER_USAGE}`);
    process.exit(2);
  }
  if (flags.help) {
    console.log(REGISTER_USAGE);
    return;
  }
  const global = flags.global === true;
  let config;
  try {
    config = loadConfig(process.env, []);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`Cannot register commands: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const { token, applicationId, guildId, apiUrl } = config.discord;
  if (!token) {
    console.error('Cannot register commands: DISCORD_TOKEN is not set (Developer Portal → Bot → Token).');
    process.exit(2);
  }
  if (!applicationId) {
    console.error('Cannot register commands: DISCORD_APPLICATION_ID is not set (Developer Portal → General Information).');
    process.exit(2);
  }
  const result = await registerCommands({ token, applicationId, guildId: global ? undefined : guildId, apiUrl });
  const where = result.scope === 'guild' ? `guild ${guildId}` : 'all servers (global commands can take up to an hour to appear)';
  console.log(`Registered ${result.commands.map((c) => `/${c.name} (${c.id})`).join(', ')} in ${where}.`);
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'register')
  register(rest).catch((error: unknown) => {
    console.error(`Registering commands failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
else
  void runStandalone({ title: 'Discord bot', logPrefix: '[discord]', env: process.env, argv: process.argv.slice(2), settings: discordConfigFrom, create: createDiscordFrontEnd });
