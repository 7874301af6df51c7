// The local playground: a third adapter on the bot core, served as one chat page on localhost.
export { startPlayground, type PlaygroundOptions, type RunningPlayground } from './server.ts';
export { PlaygroundSurface, playgroundAdapter } from './surface.ts';
export { MediaCache } from './media-cache.ts';
export { PlaygroundSession, type PageEvent } from './session.ts';
export { RequestGuard, RefusalCode, type Refusal, type RouteKind } from './request-guard.ts';
