// Styles on Discord (real discord.js against the emulator, a real daemon serving the LoRA fixture package as
// "styled" beside the plain fixture): /animate registers `style` (autocompleted) and `style_strength` (0..2); the
// autocomplete suggests the named model's styles with their descriptions, from ListModels, and only names it has; an
// unknown style is refused privately naming the styles; help for the model lists them; the clip's message says the
// style and strength, and Reroll keeps them.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLoraFixturePackage } from '../fixtures/lora-fixture.ts';
import { startDiscordHarness, type DiscordHarness } from './emulator/harness.ts';

let h: DiscordHarness;
let stylesDir: string;
const EPHEMERAL = 1 << 6;

beforeAll(async () => {
  stylesDir = await mkdtemp(path.join(os.tmpdir(), 'animate-discord-styles-'));
  await buildLoraFixturePackage(path.join(stylesDir, 'styled'), { name: 'styled' });
  h = await startDiscordHarness({ daemon: { modelDirs: [path.join(stylesDir, 'styled')] } });
});
afterAll(async () => {
  await h?.close();
  await rm(stylesDir, { recursive: true, force: true });
});

async function suggest(value: string, others: Record<string, string | number> = {}) {
  const interaction = h.discord.autocomplete(h.discord.users.alice, 'animate', { prompt: 'a ball', ...others, style: value }, 'style');
  return h.discord.waitFor(() => interaction.choices ?? undefined, 10_000, 'style suggestions');
}

async function reply(options: Record<string, string | number>) {
  const interaction = h.slash(h.discord.users.alice, options);
  const message = await h.discord.waitFor(() => {
    const m = h.discord.originalMessage(interaction);
    return m && m.content ? m : undefined;
  }, 30_000, 'a reply');
  return { interaction, message, ephemeral: (message.flags & EPHEMERAL) === EPHEMERAL };
}

describe('registered style options', () => {
  it('style is autocompleted; style_strength is a number from 0 to 2', () => {
    const command = h.discord.world.commands.find((c) => c.name === 'animate')!;
    const option = (name: string) => command.options.find((o) => o.name === name)!;
    expect(option('style').autocomplete).toBe(true);
    expect(option('style').choices ?? []).toEqual([]);
    expect([option('style_strength').type, option('style_strength').min_value, option('style_strength').max_value]).toEqual([10, 0, 2]);
  });
});

describe('style autocomplete from ListModels', () => {
  it('the named model\'s styles, each with its description', async () => {
    expect((await suggest('', { model: 'styled' })).map((c) => [c.name, c.value])).toEqual([
      ['ink · ink wash: black strokes on rice paper', 'ink'],
      ['neon · neon outlines on black', 'neon'],
    ]);
  });

  it('narrowed by name or description; nothing matching shows them all, never a name the model lacks', async () => {
    expect((await suggest('ne', { model: 'styled' })).map((c) => c.value)).toEqual(['neon']);
    expect((await suggest('rice', { model: 'styled' })).map((c) => c.value)).toEqual(['ink']);
    expect((await suggest('chalk', { model: 'styled' })).map((c) => c.value)).toEqual(['ink', 'neon']);
  });

  it('a model without styles (the default fixture) suggests none', async () => {
    expect(await suggest('')).toEqual([]);
  });
});

describe('styles in /animate', () => {
  it('an unknown style is refused privately, naming the model\'s styles, and starts no job', async () => {
    const before = h.core.jobs.size;
    const { interaction, message, ephemeral } = await reply({ prompt: 'a ball', model: 'styled', style: 'chalk' });
    expect(message.content).toBe('⚠️ style "chalk" is not a style of model styled. Its styles: ink, neon.');
    expect(ephemeral).toBe(true);
    expect(interaction.responseType).toBe(4);
    expect(h.core.jobs.size).toBe(before);
  });

  it('a strength without a style is refused privately', async () => {
    const { message, ephemeral } = await reply({ prompt: 'a ball', style_strength: 1.5 });
    expect(message.content).toBe("⚠️ style strength is set but no style is given: name one of the model's styles (listed by /animate help), or leave the strength out");
    expect(ephemeral).toBe(true);
  });

  it('help with model:styled lists its styles with descriptions and example prompts', async () => {
    const { message, ephemeral } = await reply({ prompt: 'help', model: 'styled' });
    expect(ephemeral).toBe(true);
    console.log(`help: ${message.content.length} characters`);
    expect(message.content).toContain('Styles of model styled (--style NAME, --style-strength 0–2):');
    expect(message.content).toContain('  ink: ink wash: black strokes on rice paper\n    e.g. /animate a red ball bounces on the grass --style ink');
    expect(message.content).toContain('  neon: neon outlines on black\n    e.g. /animate a blue bird flies at night --style neon');
  });

  it('the clip says the style and strength, and Reroll keeps them', async () => {
    const interaction = h.slash(h.discord.users.alice, { prompt: 'a red ball bounces', model: 'styled', style: 'ink', style_strength: 1.5, seed: 4, steps: 2 });
    const threadId = await h.discord.waitFor(() => h.discord.originalMessage(interaction)?.threadId, 60_000, 'the thread');
    const clip = await h.waitForClip(threadId);
    expect(clip.content).toContain('model styled · style ink at 1.5');
    h.discord.clickButton(h.discord.users.bob, clip.id, `animate:reroll:discord-${interaction.id}`);
    const rerolled = await h.waitForClip(threadId, (m) => m.id !== clip.id);
    expect(rerolled.content).toContain('model styled · style ink at 1.5');
    expect(rerolled.content).not.toContain('seed **4**');
  });
});
