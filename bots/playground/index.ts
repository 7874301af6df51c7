// Public exports of the local playground, a third adapter on the bot core served as one chat page on localhost:
// the server (startPlayground), its FrontEnd (createPlaygroundFrontEnd), settings, and its parts.
export { startPlayground, type PlaygroundOptions, type RunningPlayground } from './server.ts';
export { createPlaygroundFrontEnd, PLAYGROUND_LINGER_MS } from './front-end.ts';
export { playgroundConfigFrom, type PlaygroundSettings } from './config.ts';
export { PlaygroundSurface, playgroundAdapter } from './surface.ts';
export { MediaCache } from './media-cache.ts';
export { DEFAULT_MAX_SESSIONS, DEFAULT_SESSION_IDLE_MS, PlaygroundSession, SessionStore, type PageEvent, type SessionStoreOptions } from './session.ts';
export { RequestGuard, RefusalCode, Refusal, type RouteKind } from './request-guard.ts';
