// Styles on Slack (Bolt's real HTTP receiver, the Web API emulator, a real daemon serving the LoRA fixture package
// as "styled"): `/animate … --style NAME --style-strength X` makes a clip whose comment names the style, Reroll keeps
// it, an unknown style is refused privately naming the model's styles, and `/animate help --model styled` lists the
// styles with their descriptions and example prompts.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLoraFixturePackage } from '../fixtures/lora-fixture.ts';
import { startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';
import { buttonsOf, clipsInThread, parentMessage, startSlackHarness, statusMessages, type SlackHarness } from './emulator/harness.ts';

const CH = 'C0GENERAL';
const ALICE = 'U0ALICE';
let fx: FixtureDaemon;
let h: SlackHarness;
let stylesDir: string;

beforeAll(async () => {
  stylesDir = await mkdtemp(path.join(os.tmpdir(), 'animate-slack-styles-'));
  await buildLoraFixturePackage(path.join(stylesDir, 'styled'), { name: 'styled' });
  fx = await startFixtureDaemon({ daemon: { modelDirs: [path.join(stylesDir, 'styled')] } });
  h = await startSlackHarness({ connection: fx.client });
});
afterAll(async () => {
  await h?.close();
  await fx?.close();
  await rm(stylesDir, { recursive: true, force: true });
});

async function privateAnswer(text: string): Promise<string> {
  const sent = await h.sender.slashCommand({ text, user: ALICE, channel: CH });
  const post = await h.emulator.waitFor(() => h.emulator.responseUrlPosts.find((p) => p.id === `cmd-${sent.triggerId}`), 10_000, `the answer to ${text}`);
  expect(post.body.response_type).toBe('ephemeral');
  return String(post.body.text);
}

const clipsAtLeast = (threadTs: string, count: number) =>
  h.emulator.waitFor(() => {
    const clips = clipsInThread(h.emulator, CH, threadTs);
    return clips.length >= count ? clips : undefined;
  }, 60_000, `${count} clips`);

describe('styles in Slack', () => {
  it('--style and --style-strength: the clip names them, and Reroll keeps them', async () => {
    await h.sender.slashCommand({ text: 'a yellow kite flies --model styled --style neon --style-strength 0.5 --seed 9 --steps 2', user: ALICE, channel: CH });
    const parent = await h.emulator.waitFor(() => parentMessage(h.emulator, CH, 'a yellow kite flies'), 30_000, 'the parent');
    const [first] = await clipsAtLeast(parent.ts, 1);
    expect(first!.message.text).toContain('model styled · style neon at 0.5');
    await h.bot.plugin.idle();
    const [status] = statusMessages(h.emulator, CH, parent.ts);
    const jobId = buttonsOf(status!).animate_reroll!;
    await h.sender.blockAction({ actionId: 'animate_reroll', value: jobId, user: ALICE, channel: CH, messageTs: status!.ts, threadTs: parent.ts });
    const clips = await clipsAtLeast(parent.ts, 2);
    expect(clips[1]!.message.text).toContain('model styled · style neon at 0.5');
    expect(clips[1]!.message.text).not.toContain('seed 9 ');
  });

  it('an unknown style is refused privately with the model\'s styles, and nothing is posted', async () => {
    const before = h.emulator.state.messages.length;
    expect(await privateAnswer('a ball --model styled --style chalk')).toContain('style "chalk" is not a style of model styled. Its styles: ink, neon.');
    expect(h.emulator.state.messages.length).toBe(before);
  });

  it('help --model styled lists the styles with descriptions and example prompts', async () => {
    const text = await privateAnswer('help --model styled');
    expect(text).toContain('  --style     ink, neon: ');
    expect(text).toContain('  ink: ink wash: black strokes on rice paper\n    e.g. /animate a red ball bounces on the grass --style ink');
    expect(text).toContain('  neon: neon outlines on black\n    e.g. /animate a blue bird flies at night --style neon');
    // Plain help is the default model's (the plain fixture), which has none and says so on one line.
    expect(await privateAnswer('help')).toContain('  --style     none (model fixture has no styles): ');
  });
});
