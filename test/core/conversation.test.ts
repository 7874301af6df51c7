import { describe, expect, it } from 'vitest';
import { ConversationStore, refinePrompt } from '../../bots/core/conversation.ts';
import { questionToPrompt, toGerund } from '../../bots/core/qa.ts';

const base = 'a red ball bouncing on the grass';

describe('refinePrompt', () => {
  const cases: Array<[string, string, string]> = [
    ['make it blue', 'a blue ball bouncing on the grass', 'colour: blue'],
    ['Please make the grass yellow!', 'a red ball bouncing on the yellow grass', 'colour: yellow grass'],
    ['now at night', 'a red ball bouncing on the grass at night', 'time of day: "at night"'],
    ['bigger', 'a big red ball bouncing on the grass', 'size: big'],
    ['smaller', 'a small red ball bouncing on the grass', 'size: small'],
    ['add a star', 'a red ball bouncing on the grass with a star', 'added a star'],
    ['on the beach', 'a red ball bouncing on the beach', 'place: on the beach'],
    ['replace the ball with an apple', 'a red apple bouncing on the grass', 'ball → apple'],
    ['rolling down a hill', 'a red ball bouncing on the grass, rolling down a hill', 'added "rolling down a hill"'],
  ];
  for (const [followUp, prompt, summary] of cases)
    it(`"${followUp}"`, () => {
      const r = refinePrompt(base, followUp);
      expect(r.prompt).toBe(prompt);
      expect(r.summary).toBe(summary);
    });

  it('replaces an earlier time of day instead of piling up', () => {
    expect(refinePrompt('a blue ball at night', 'at sunrise').prompt).toBe('a blue ball at sunrise');
  });
  it('slower lowers the fps within the limits and says so', () => {
    const r = refinePrompt(base, 'slower', { fps: 8, minFps: 6, maxFps: 30 });
    expect(r.prompt).toBe(`${base} slowly`);
    expect(r.changes.fps).toBe(6);
    expect(r.summary).toBe('slower: "slowly", 8 → 6 fps');
    const fast = refinePrompt(`${base} slowly`, 'faster', { fps: 8, maxFps: 10 });
    expect(fast.prompt).toBe(`${base} quickly`);
    expect(fast.changes.fps).toBe(10);
  });
  it('removal drops the words and adds them to the negative prompt', () => {
    const r = refinePrompt('a red ball with a star', 'remove the star', { negative: 'blurry' });
    expect(r.prompt).toBe('a red ball');
    expect(r.changes.negative).toBe('blurry, star');
  });
  it('again keeps the prompt and asks for a new seed', () => {
    expect(refinePrompt(base, 'again')).toEqual({ prompt: base, changes: { newSeed: true }, summary: 'same prompt, new seed' });
  });
  it('fixes the article when inserting a colour', () => {
    expect(refinePrompt('a ball', 'orange').prompt).toBe('an orange ball');
  });
});

describe('ConversationStore', () => {
  it('keeps the latest job per thread, fills in what was used, forgets the oldest', () => {
    const store = new ConversationStore({ maxThreads: 2 });
    store.record('t1', 'j1', { prompt: 'a', variants: 1 }, 1);
    store.record('t2', 'j2', { prompt: 'b', variants: 1 }, 2);
    store.completed('t1', 'j1', { seed: 5, fps: 8 });
    store.completed('t2', 'other', { seed: 9, fps: 8 });
    expect(store.get('t1')).toMatchObject({ prompt: 'a', seed: 5, fps: 8 });
    expect(store.get('t2')?.seed).toBeUndefined();
    store.record('t3', 'j3', { prompt: 'c', variants: 1 }, 3);
    expect(store.get('t1')).toBeUndefined();
    expect(store.size).toBe(2);
  });
});

describe('questionToPrompt', () => {
  it.each([
    ['how does a ball bounce?', 'a ball bouncing'],
    ['How do birds fly over the sea?', 'birds flying over the sea'],
    ['what does a sunset look like?', 'a sunset'],
    ['what happens when a ball falls?', 'a ball falls'],
    ["what's a comet?", 'a comet'],
    ['can you show me a red ball rolling', 'a red ball rolling'],
    ['a dog running', 'a dog running'],
  ])('%s → %s', (q, p) => expect(questionToPrompt(q)).toBe(p));
  it('makes gerunds', () => {
    expect(['bounce', 'run', 'fly', 'tie', 'see', 'roll'].map(toGerund)).toEqual(['bouncing', 'running', 'flying', 'tying', 'seeing', 'rolling']);
  });
});
