// How often a clip's previews may come, in one place: the pipeline's pacer (inference/pipeline/preview-pacer.ts), the
// daemon's option and ANIMATE_PREVIEW_INTERVAL_MS (shared/config/variables.ts) all read these.

/** Default least time between two previews of one clip, in milliseconds (issue #23: at most ~5% of a clip's time). */
export const DEFAULT_PREVIEW_MIN_INTERVAL_MS = 250;
/** The largest interval an operator may set: a minute, past which a clip shows its first preview and then nothing. */
export const MAX_PREVIEW_MIN_INTERVAL_MS = 60_000;
