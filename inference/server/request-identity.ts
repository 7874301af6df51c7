// Who a request_id belongs to, and what it was used for. A request_id is an idempotency key: the same requester
// resending the same request (a retry) follows the first job, but the id must never let another person see that
// job, nor let its owner get an old clip for a different request.
import { createHash } from 'node:crypto';
import type { GenerateRequest__Output } from '../../shared/rpc/types.ts';

/** The requester's identity as sent: platform, server (guild/team) and user (of a Generate or a Cancel request). */
export function requesterKey(req: Pick<GenerateRequest__Output, 'requester'>): string {
  const r = req.requester;
  // JSON keeps the parts apart whatever characters they hold.
  return JSON.stringify([String(r?.platform ?? 'PLATFORM_UNSPECIFIED'), r?.serverId ?? '', r?.userId ?? '']);
}

/**
 * A digest of the request's parameters as sent, before defaults are applied: an absent seed stays absent (the daemon
 * picks one), so a retry that again leaves it out matches, while a retry naming any seed does not. The image counts
 * by its SHA-256.
 */
export function requestFingerprint(req: GenerateRequest__Output): string {
  const p = req.preview;
  const parts = [
    req.prompt,
    req.negativePrompt,
    req.seed ?? null,
    req.steps ?? null,
    req.guidanceScale ?? null,
    req.frames ?? null,
    req.width ?? null,
    req.height ?? null,
    req.aspect,
    req.fps ?? null,
    req.model,
    req.formats.map(String),
    p ? [p.disabled, p.everyNSteps ?? null, p.maxSide ?? null, String(p.format)] : null,
    req.upscale ?? null,
    req.scheduler,
    req.maxClipBytes ?? null,
  ];
  // Image-to-video: a digest of the image (the bytes, not a name), so a resend with another image is another request.
  // Appended only when there is one, so a text-to-video request's fingerprint is what it was before images existed.
  const image = req.image ?? new Uint8Array(0);
  if (image.length > 0 || req.imageMimeType) parts.push(['image', createHash('sha256').update(image).digest('base64url'), req.imageMimeType ?? '']);
  // A style changes the clip: appended only when one (or a strength) is sent, as the image is.
  if (req.style || req.styleStrength !== undefined) parts.push(['style', req.style ?? '', req.styleStrength ?? null]);
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url');
}
