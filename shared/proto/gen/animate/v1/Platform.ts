// Original file: proto/animate/v1/animator.proto

export const Platform = {
  PLATFORM_UNSPECIFIED: 'PLATFORM_UNSPECIFIED',
  DISCORD: 'DISCORD',
  SLACK: 'SLACK',
  PLAYGROUND: 'PLAYGROUND',
  CLI: 'CLI',
  PLUGIN: 'PLUGIN',
} as const;

export type Platform =
  | 'PLATFORM_UNSPECIFIED'
  | 0
  | 'DISCORD'
  | 1
  | 'SLACK'
  | 2
  | 'PLAYGROUND'
  | 3
  | 'CLI'
  | 4
  | 'PLUGIN'
  | 5

export type Platform__Output = typeof Platform[keyof typeof Platform]
