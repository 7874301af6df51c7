// The playground's answer to mistyped commands (bots/playground/commands.ts) and the queue place the page words
// (bots/core/format.ts queuePlace), on their own: the exact sentences and the 0/1 semantics of Queued.position.
import { describe, expect, it } from 'vitest';
import { queuePlace } from '../../bots/core/format.ts';
import { commandWord, unknownCommandMessage } from '../../bots/playground/commands.ts';

describe('unknown playground commands', () => {
  it('names the nearest command for a typo', () => {
    expect(unknownCommandMessage('/animat a blue star')).toBe('Unknown command /animat. Did you mean /animate?');
    expect(unknownCommandMessage('/anmiate a blue star')).toBe('Unknown command /anmiate. Did you mean /animate?');
    expect(unknownCommandMessage('/ani a ball')).toBe('Unknown command /ani. Did you mean /animate?');
    expect(unknownCommandMessage('/hlep')).toBe('Unknown command /hlep. Did you mean /help?');
  });

  it('lists the commands when none is near', () => {
    expect(unknownCommandMessage('/frobnicate now')).toBe('Unknown command /frobnicate. Commands: /animate, /help (/animate help lists the options).');
  });

  it('says nothing for known commands, any case, and for messages that are not commands', () => {
    for (const text of ['/animate a red ball', '/Animate a red ball', '/help', 'make it blue', '/ make it blue', '  and then it rolls away']) expect(unknownCommandMessage(text)).toBeUndefined();
    expect(commandWord('  /animat a blue star')).toBe('/animat');
    expect(commandWord('/usr/bin/thing')).toBe('/usr');
  });

  it('shortens a very long command word', () => {
    expect(unknownCommandMessage(`/${'x'.repeat(60)}`)).toBe(`Unknown command /${'x'.repeat(39)}…. Commands: /animate, /help (/animate help lists the options).`);
  });
});

describe('queuePlace', () => {
  it('position 1 with no wait is starting (nothing ahead); with a wait, next; above 1, waiting; 0, not told', () => {
    expect(queuePlace(1, 0)).toEqual({ kind: 'starting' });
    expect(queuePlace(1, 2.5)).toEqual({ kind: 'next' });
    expect(queuePlace(3, 7)).toEqual({ kind: 'waiting', position: 3 });
    expect(queuePlace(0, 4)).toEqual({ kind: 'unknown' });
  });
});
