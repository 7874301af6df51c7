// Discord's /animate options follow the model: registration carries the bots' outer bounds and autocomplete, and the
// autocomplete answers (real discord.js against the emulator, a real daemon with fixture models) suggest the
// aspects, steps, frames and fps of the model the command names, from ListModels. Nothing here names an aspect the
// bot knows by heart: the expected ones come from the daemon's own list.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPTION_BOUNDS } from '../../bots/core/options.ts';
import { buildFixturePackage, type AnimateLimits } from '../fixtures/fixture-model.ts';
import { startDiscordHarness, type DiscordHarness } from './emulator/harness.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

let h: DiscordHarness;
let wideDir: string;

beforeAll(async () => {
  // A third model with other limits and a temporal factor of 4, so suggestions visibly follow the model named.
  wideDir = await mkdtemp(path.join(os.tmpdir(), 'animate-discord-wide-'));
  await buildFixturePackage(path.join(wideDir, 'wide'), {
    name: 'wide',
    temporalFactor: 4,
    defaults: { steps: 12, frames: 9, fps: 12 },
    // `aspects` is a limit of the package format the fixture's type does not list; it is written as given.
    limits: { max_steps: 30, min_frames: 5, max_frames: 33, min_fps: 6, max_fps: 24, aspects: ['1:1', '2:1'] } as Partial<AnimateLimits>,
  });
  // The harness's own fixture is the default model; "wide" replaces its slow one.
  h = await startDiscordHarness({ daemon: { modelDirs: [path.join(wideDir, 'wide')] } });
});
afterAll(async () => {
  await h?.close();
  await rm(wideDir, { recursive: true, force: true });
});

/** Types `value` into option `focused` of /animate (with `others` filled) and waits for the suggestions. */
async function suggest(focused: string, value: string | number, others: Record<string, string | number> = {}) {
  const interaction = h.discord.autocomplete(h.discord.users.alice, 'animate', { prompt: 'a ball', ...others, [focused]: value }, focused);
  const choices = await h.discord.waitFor(() => interaction.choices ?? undefined, 10_000, `suggestions for ${focused}`);
  expect(interaction.responseType).toBe(8);
  return choices;
}

describe('registered /animate options', () => {
  it('carry the outer bounds and autocomplete, and no fixed list of aspects', () => {
    const command = h.discord.world.commands.find((c) => c.name === 'animate')!;
    const option = (name: string) => command.options.find((o) => o.name === name)!;
    for (const name of ['steps', 'frames', 'fps'] as const) {
      expect(option(name).autocomplete).toBe(true);
      expect([option(name).min_value, option(name).max_value]).toEqual([OPTION_BOUNDS[name].min, OPTION_BOUNDS[name].max]);
    }
    expect(option('aspect').autocomplete).toBe(true);
    expect(option('aspect').choices ?? []).toEqual([]);
    expect(option('model').autocomplete).toBe(true);
    console.log(`registered: steps ≤ ${option('steps').max_value}, frames ≤ ${option('frames').max_value}, fps ≤ ${option('fps').max_value}`);
  });
});

describe('autocomplete from ListModels', () => {
  it('aspect: the default model\'s list, with the size each gives', async () => {
    const list = (await h.core.models())!;
    const fixture = list.models.find((m) => m.name === list.defaultModel)!;
    const choices = await suggest('aspect', '');
    expect(choices.map((c) => c.value)).toEqual(fixture.limits!.aspects);
    expect(choices[0]!.name).toBe(`${fixture.limits!.aspects[0]} (32×32)`);
  });

  it('aspect: the list of the model named in the command, narrowed by what was typed', async () => {
    expect((await suggest('aspect', '', { model: 'wide' })).map((c) => [c.name, c.value])).toEqual([
      ['1:1 (32×32)', '1:1'],
      ['2:1 (48×24)', '2:1'],
    ]);
    expect((await suggest('aspect', '2', { model: 'wide' })).map((c) => c.value)).toEqual(['2:1']);
    // Nothing matches: all of them, so the person sees what the model takes.
    expect((await suggest('aspect', '16', { model: 'wide' })).map((c) => c.value)).toEqual(['1:1', '2:1']);
  });

  it('steps: what was typed when the model takes it, the default and the ends of its range', async () => {
    const choices = await suggest('steps', '25', { model: 'wide' });
    expect(choices.map((c) => c.value)).toEqual([25, 12, 6, 24, 1, 30]);
    expect(choices[1]!.name).toBe('12 (default) · wide takes 1–30');
    // Out of the model's range: no such suggestion, only values it takes.
    expect((await suggest('steps', '500', { model: 'wide' })).map((c) => c.value)).toEqual([12, 6, 24, 1, 30]);
  });

  it('frames: on the model\'s grid (1 + a multiple of 4), with the clip length at its fps', async () => {
    const choices = await suggest('frames', '10', { model: 'wide' });
    expect(choices.map((c) => c.value)).toEqual([9, 13, 21, 5, 33]);
    expect(choices[0]!.name).toBe('9 frames ≈ 0.8 s at 12 fps (default) · 1 + a multiple of 4');
  });

  it('fps: within the model\'s range', async () => {
    expect((await suggest('fps', '', { model: 'wide' })).map((c) => c.value)).toEqual([12, 8, 16, 24, 6]);
  });

  it('model: the models the daemon has, the default marked', async () => {
    const choices = await suggest('model', '');
    expect(choices.map((c) => c.value)).toEqual(['fixture', 'wide']);
    expect(choices[0]!.name.startsWith('fixture (default)')).toBe(true);
    expect((await suggest('model', 'wi')).map((c) => c.value)).toEqual(['wide']);
  });

  it('an unknown model in the command: no suggestions rather than another model\'s', async () => {
    expect(await suggest('steps', '', { model: 'nope' })).toEqual([]);
  });
});
