// `npm run bot:discord`: the Discord bot on its own, against a running daemon. Settings come from the environment
// or .env through shared/config: DISCORD_TOKEN, DISCORD_APPLICATION_ID, DISCORD_GUILD_ID, DISCORD_API_URL,
// DISCORD_GATEWAY_URL, DISCORD_MAX_UPLOAD_MB, and the daemon's ANIMATE_DAEMON_ADDRESS / ANIMATE_LISTEN /
// ANIMATE_TOKEN / ANIMATE_TLS_*.
// `npm run discord:register` (`main.ts register`): registers /animate in DISCORD_GUILD_ID (development; instant)
// or globally; `-- --global` registers globally even when DISCORD_GUILD_ID is set.
import { ConfigError, loadConfig } from '../../shared/config/index.ts';
import { runStandalone } from '../core/standalone.ts';
import { discordConfigFrom } from './config.ts';
import { createDiscordFrontEnd } from './front-end.ts';
import { registerCommands } from './register.ts';

async function register(args: readonly string[]): Promise<void> {
  const global = args.includes('--global');
  let config;
  try {
    config = loadConfig(process.env, args.filter((a) => a !== '--global'));
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
