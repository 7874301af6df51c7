// The front-ends a request can come from, in both sides' words: the names code uses ('discord') and the wire's
// Platform enum ('DISCORD', generated from the proto). A new front-end adds its name here and in the proto.
import { Platform } from '../proto/gen/animate/v1/Platform.ts';

export const PLATFORM_NAMES = ['discord', 'slack', 'playground', 'cli', 'plugin'] as const;
export type PlatformName = (typeof PLATFORM_NAMES)[number];

type WirePlatform = Exclude<keyof typeof Platform, 'PLATFORM_UNSPECIFIED'>;

export const PLATFORM_TO_WIRE: Readonly<Record<PlatformName, WirePlatform>> = {
  discord: Platform.DISCORD,
  slack: Platform.SLACK,
  playground: Platform.PLAYGROUND,
  cli: Platform.CLI,
  plugin: Platform.PLUGIN,
};

/** What the daemon records when a request names no platform. */
export const UNSPECIFIED_PLATFORM = Platform.PLATFORM_UNSPECIFIED;

/** The platform a wire enum value names, or undefined (unspecified or unknown). */
export function platformFromWire(value: unknown): PlatformName | undefined {
  return PLATFORM_NAMES.find((p) => PLATFORM_TO_WIRE[p] === String(value));
}
