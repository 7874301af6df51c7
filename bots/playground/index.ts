// Public exports of the local playground, a third adapter on the bot core served as one chat page on localhost:
// the server (startPlayground), its FrontEnd (createPlaygroundFrontEnd), settings, and its parts.
export { startPlayground, type PlaygroundOptions, type RunningPlayground } from './server.ts';
export { createPlaygroundFrontEnd, PLAYGROUND_LINGER_MS } from './front-end.ts';
export { playgroundConfigFrom, type PlaygroundSettings } from './config.ts';
export { PlaygroundSurface, playgroundAdapter } from './surface.ts';
export { MediaCache } from './media-cache.ts';
export { PlaygroundSession, type PageEvent } from './session.ts';
export { RequestGuard, RefusalCode, type Refusal, type RouteKind } from './request-guard.ts';
