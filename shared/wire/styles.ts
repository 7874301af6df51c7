// The style rules both wings apply (GenerateRequest.style / style_strength, ModelInfo.styles): the strength's range
// and default, and how finely it is used, written once so a front-end's `--style-strength` check and the daemon's
// (inference/server/validate.ts) agree. Which styles exist is each model's (ListModels), not a rule of the wire.

/** style_strength when a request names a style and no strength. */
export const DEFAULT_STYLE_STRENGTH = 1;
export const MIN_STYLE_STRENGTH = 0;
export const MAX_STYLE_STRENGTH = 2;

/**
 * The step strengths are used at: each (style, strength) is a merged transformer and a session of its own in the
 * daemon (inference/model/lora/style-sessions.ts), so a coarse step bounds them to 41 per style (0, 0.05, …, 2) and
 * keeps a requester cycling 1.001, 1.002, … from forcing a rebuild per request. 0.05 is finer than a viewer tells apart.
 */
export const STYLE_STRENGTH_STEP = 0.05;

/**
 * MiB of styled transformers the daemon keeps for reuse by default (ANIMATE_STYLE_CACHE_MB, `--style-cache-mb`):
 * tiny-world's transformer is 6.5 MB, so about 40 sessions.
 */
export const DEFAULT_STYLE_CACHE_MB = 256;

/**
 * The strength as sent, without the float's noise (a wire float 0.7 arrives as 0.699999988 and means 0.7): to 0.001.
 * The range is checked on this value, so a refusal names the number the person sent.
 */
export function styleStrengthAsSent(strength: number): number {
  return Math.round(strength * 1000) / 1000;
}

/**
 * The strength as the daemon uses it (the merge, the session cache's key, Done.style_strength): the nearest multiple of
 * STYLE_STRENGTH_STEP. Computed as an integer count of steps over their number per unit, so 0.7 is exactly 0.7.
 */
export function roundStyleStrength(strength: number): number {
  const perUnit = Math.round(1 / STYLE_STRENGTH_STEP);
  return Math.round(styleStrengthAsSent(strength) * perUnit) / perUnit;
}
