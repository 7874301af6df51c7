// Snowflakes that encode the emulator's clock, so discord.js computes createdTimestamp from the same (possibly fake) time.
const DISCORD_EPOCH = 1_420_070_400_000n;

export interface EmulatorClock {
  now(): number;
}

export const systemClock: EmulatorClock = { now: () => Date.now() };

export class SnowflakeFactory {
  private increment = 0n;
  constructor(private readonly clock: EmulatorClock) {}

  next(): string {
    this.increment = (this.increment + 1n) & 0xfffn;
    const ms = BigInt(Math.max(0, Math.floor(this.clock.now()))) - DISCORD_EPOCH;
    return ((ms << 22n) | (1n << 17n) | this.increment).toString();
  }
}

/** Interaction and webhook tokens: opaque, URL-safe, unique. */
export function makeToken(prefix: string): string {
  const bytes = new Uint8Array(24);
  crypto.getRandomValues(bytes);
  return `${prefix}.${Buffer.from(bytes).toString('base64url')}`;
}
