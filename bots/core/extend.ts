// The Extend button: a new clip that continues this one, on the same path. The daemon's last frame of the clip
// (Done.last_frame, a PNG) becomes the image the next clip starts from (image-to-video), with the same settings and
// prompt (or the one given), a new seed, in the same thread, so follow-ups there refine the continuation. Whether
// the model takes an image is not in ListModels, so the button shows whenever the daemon sent a last frame; a model
// that takes none refuses with INVALID_ARGUMENT on `image`, and this module rewords that refusal for the person who
// pressed Extend (the daemon's words are about a request that carried an image, which they did not attach).
import type { ClipFile, ClipInfo, JobSurface, Requester, SpawnContext } from './adapter.ts';
import type { AnimateFn, AnimateResult } from './api.ts';
import { InvalidOptionsError, InvalidStateError, type BotError } from './errors.ts';
import { isActive, type JobRecord } from './jobs.ts';
import type { IdSource } from './ids.ts';
import { spawnFrom } from './spawn.ts';

/** What Extend needs of the actions' context. */
export interface ExtendContext {
  ids: IdSource;
  animate: AnimateFn;
}

/** The daemon's refusal of an image for a model without vae_encoder/ (inference/server/validate.ts). */
const NO_IMAGE_MODEL = /^image: model "([^"]*)" cannot start a clip from an image/;

/** A refusal of the image, in Extend's terms; other errors unchanged. */
export function extendFailure(error: BotError): BotError {
  if (!error.message.startsWith('image: ')) return error;
  const model = NO_IMAGE_MODEL.exec(error.message)?.[1];
  if (model !== undefined) {
    return new InvalidOptionsError(
      `Extend needs a model that can start a clip from an image, and "${model}" cannot (it has no image encoder). Reroll or refine this clip instead, or make it with a model that takes images.`,
      'image',
      { cause: error },
    );
  }
  return new InvalidOptionsError(`This clip's last frame could not be used to extend it (${error.message.slice('image: '.length)}).`, 'image', { cause: error });
}

/** The spawned surface, with Extend's wording of an image refusal. */
function extendSurface(inner: JobSurface): JobSurface {
  return {
    adapter: inner.adapter,
    get threadId() {
      return inner.threadId;
    },
    accepted: (job) => inner.accepted(job),
    showQueued: (position, eta) => inner.showQueued(position, eta),
    ...(inner.showStarted ? { showStarted: (info: Parameters<NonNullable<JobSurface['showStarted']>>[0]) => inner.showStarted!(info) } : {}),
    showProgress: (progress) => inner.showProgress(progress),
    showPreview: (image) => inner.showPreview(image),
    deliverClip: (clip: ClipFile, info: ClipInfo) => inner.deliverClip(clip, info),
    fail: (error) => inner.fail(extendFailure(error)),
    cancelled: (by) => inner.cancelled(by),
    spawn: (context: SpawnContext) => inner.spawn(context),
  };
}

export async function extend(ctx: ExtendContext, job: JobRecord, actor: Requester, text?: string): Promise<AnimateResult> {
  const lastFrame = job.result?.lastFrame;
  if (!lastFrame?.length) {
    throw new InvalidStateError(
      isActive(job) ? 'This clip is not finished yet; Extend continues from its last frame once it is done.' : 'This clip has no last frame to continue from (the animation server did not send one), so it cannot be extended.',
    );
  }
  const prompt = text?.trim() || job.result?.prompt || job.options.prompt;
  const surface = extendSurface(await spawnFrom(job, 'extend', `Extended: ${prompt}`, actor));
  // A new seed: the same seed from a new first frame would replay the same noise, and motion would stall or repeat.
  const { seed: _previousSeed, ...rest } = job.options;
  return ctx.animate(surface, actor, { ...rest, prompt, variants: 1, seed: ctx.ids.seed(), image: { bytes: lastFrame, mimeType: 'image/png', name: 'last-frame.png' } }, {
    parentId: job.id,
    ...(surface.threadId ? { threadId: surface.threadId } : {}),
  });
}
