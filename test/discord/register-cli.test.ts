// `npm run discord:register` as a newcomer runs it, as a child process: `-- --help` prints the usage and exits 0
// with no Discord setting at all; a wrong argument or a missing token exits 2 saying what to do; with the settings
// (pointed at the emulator) it registers /animate in the guild.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDiscordEmulator, type DiscordEmulator } from './emulator/index.ts';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

/** The environment without our own variables (no DISCORD_TOKEN), plus `extra`. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(ANIMATE_|PLAYGROUND_|DISCORD_|SLACK_|npm_)/.test(k)) env[k] = v;
  return { ...env, ...extra };
}

function run(args: string[], extra: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', 'discord:register', ...(args.length ? ['--', ...args] : [])], { cwd: REPO, env: cleanEnv(extra), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    // npm's own warnings (about its configuration) are not the program's output.
    child.on('exit', (code) => resolve({ code, out, err: err.split('\n').filter((l) => !l.startsWith('npm warn')).join('\n') }));
  });
}

let discord: DiscordEmulator;
beforeAll(async () => {
  discord = await startDiscordEmulator();
});
afterAll(async () => {
  await discord?.close();
});

describe('npm run discord:register', () => {
  it('-- --help prints the usage and exits 0 without DISCORD_TOKEN', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(0);
    expect(out.split('\n')[0]).toBe('Usage: npm run discord:register [-- --global]');
    expect(out).toContain('  --global    globally, in every server the bot is in');
    expect(out).toContain('Needs DISCORD_TOKEN (Developer Portal → Bot → Token) and DISCORD_APPLICATION_ID');
  }, 60_000);

  it('an unknown argument exits 2, naming it, the nearest flag and the flags there are (shared/cli-args.ts)', async () => {
    const { code, err } = await run(['--globl']);
    expect(code).toBe(2);
    expect(err.split('\n').slice(0, 2)).toEqual([
      'Cannot register commands: unknown flag --globl; did you mean --global?',
      'discord:register takes: --global, --help (`npm run discord:register -- --help` explains each)',
    ]);
    const positional = await run(['global']);
    expect(positional.code).toBe(2);
    expect(positional.err.split('\n')[0]).toBe('Cannot register commands: unexpected argument "global": discord:register takes flags only (`npm run discord:register -- --help` lists them)');
    const valued = await run(['--global=yes']);
    expect(valued.code).toBe(2);
    expect(valued.err.split('\n')[0]).toBe('Cannot register commands: --global takes no value (got "--global=yes"); give it alone: --global');
  }, 60_000);

  it('without DISCORD_TOKEN exits 2 saying where the token is', async () => {
    const { code, err } = await run([]);
    expect(code).toBe(2);
    expect(err.trim()).toBe('Cannot register commands: DISCORD_TOKEN is not set (Developer Portal → Bot → Token).');
  }, 60_000);

  it('with the settings registers /animate in DISCORD_GUILD_ID', async () => {
    const { code, out, err } = await run([], { DISCORD_TOKEN: discord.token, DISCORD_APPLICATION_ID: discord.applicationId, DISCORD_GUILD_ID: discord.world.guildId, DISCORD_API_URL: discord.apiUrl });
    expect(err).toBe('');
    expect(code).toBe(0);
    const command = discord.world.commands.find((c) => c.name === 'animate' && c.guildId === discord.world.guildId);
    expect(out.trim()).toBe(`Registered /animate (${command!.id}) in guild ${discord.world.guildId}.`);
  }, 60_000);
});
