// Registers /animate with Discord: in one guild (instant, for development) or globally (all servers).
import { REST, Routes } from 'discord.js';
import { animateCommand, DEFAULT_COMMAND_NAME } from './commands.ts';

export interface RegisterCommandsOptions {
  token: string;
  applicationId: string;
  /** Register in this guild only; absent: global. */
  guildId?: string | undefined;
  /** REST base URL (an emulator in tests). Default https://discord.com/api. */
  apiUrl?: string | undefined;
  commandName?: string;
}

export interface RegisteredCommand {
  id: string;
  name: string;
}

export async function registerCommands(options: RegisterCommandsOptions): Promise<{ scope: 'guild' | 'global'; commands: RegisteredCommand[] }> {
  const rest = new REST({ ...(options.apiUrl ? { api: options.apiUrl } : {}) }).setToken(options.token);
  const body = [animateCommand(options.commandName ?? DEFAULT_COMMAND_NAME)];
  const route = options.guildId
    ? Routes.applicationGuildCommands(options.applicationId, options.guildId)
    : Routes.applicationCommands(options.applicationId);
  const answer = (await rest.put(route, { body })) as Array<{ id: string; name: string }>;
  return { scope: options.guildId ? 'guild' : 'global', commands: answer.map((c) => ({ id: c.id, name: c.name })) };
}
