// Runs one job: streams Generate from the daemon, turns its events into (throttled) JobSurface calls,
// reassembles the clip from its chunks, and ends with exactly one of deliverClip / fail / cancelled.
// Whatever happens (daemon gone, bad chunk, adapter throwing), the person gets a final message.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { isServiceError, type AnimatorConnection } from '../../shared/rpc/client.ts';
import type { ClipChunk__Output, Done__Output, GenerateRequest } from '../../shared/rpc/types.ts';
import type { ClipFile, ClipFormat, ClipInfo, ClipTimings } from './adapter.ts';
import type { Clock } from './clock.ts';
import {
  BotError,
  CancelledError,
  DaemonUnavailableError,
  DeadlineExceededError,
  GenerationFailedError,
  InvalidOptionsError,
  QueueFullError,
  UnauthenticatedError,
  UnknownModelError,
  toBotError,
} from './errors.ts';
import type { JobOutcome, JobRecord } from './jobs.ts';
import type { Logger } from './logger.ts';
import { clipFileName, WIRE_TO_FORMAT } from './request.ts';
import { UpdateThrottle } from './throttle.ts';
import { formatDuration } from './limits.ts';

export interface RunJobContext {
  connection: AnimatorConnection;
  clock: Clock;
  logger: Logger;
  /** Time allowed for the whole job (queue included); undefined = no deadline. */
  deadlineMs?: number | undefined;
}

/** Maps a gRPC failure (or anything thrown) to the BotError the person sees. */
export function botErrorFromRpc(err: unknown): BotError {
  if (err instanceof BotError) return err;
  if (!isServiceError(err)) return toBotError(err);
  const details = err.details || err.message;
  switch (err.code) {
    case GrpcStatus.INVALID_ARGUMENT:
      return new InvalidOptionsError(details, undefined, { cause: err });
    case GrpcStatus.NOT_FOUND:
      return new UnknownModelError(details, { cause: err });
    case GrpcStatus.RESOURCE_EXHAUSTED: {
      const raw = err.metadata?.get('retry-after-ms')[0];
      const ms = raw === undefined ? NaN : Number(raw.toString());
      const retryAfterSeconds = Number.isFinite(ms) ? Math.max(1, Math.ceil(ms / 1000)) : undefined;
      const when = retryAfterSeconds === undefined ? 'in a little while' : `in ${formatDuration(retryAfterSeconds * 1000)}`;
      return new QueueFullError(`The generation queue is full right now. Try again ${when}.`, retryAfterSeconds === undefined ? { cause: err } : { cause: err, retryAfterSeconds });
    }
    case GrpcStatus.UNAVAILABLE:
      return new DaemonUnavailableError('The animation daemon is unreachable or shutting down, so the clip could not be made. Try again in a moment.', { cause: err });
    case GrpcStatus.UNAUTHENTICATED:
      return new UnauthenticatedError('The bot could not authenticate with the animation daemon (check ANIMATE_TOKEN).', { cause: err });
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new DeadlineExceededError('The clip took too long and was stopped. Try fewer steps or a shorter clip.', { cause: err });
    case GrpcStatus.CANCELLED:
      return new CancelledError(`The job was cancelled by the daemon${details ? `: ${details}` : ''}.`, { cause: err });
    default:
      return new GenerationFailedError(`The clip could not be made: ${details || 'the daemon reported an internal error'}.`, { cause: err });
  }
}

/** Collects clip chunks per format and checks that every byte arrived. */
export class ClipAssembler {
  private readonly files = new Map<ClipFormat, { buffer: Buffer; received: number; last: boolean; meta: ClipChunk__Output }>();

  add(chunk: ClipChunk__Output): void {
    const format = WIRE_TO_FORMAT[chunk.format] ?? 'mp4';
    let file = this.files.get(format);
    if (!file) {
      file = { buffer: Buffer.alloc(chunk.totalBytes), received: 0, last: false, meta: chunk };
      this.files.set(format, file);
    }
    const data = Buffer.from(chunk.data);
    if (chunk.offset + data.length > file.buffer.length)
      throw new GenerationFailedError(`The daemon sent a ${format} chunk past the end of the file (${chunk.offset}+${data.length} > ${file.buffer.length}).`);
    data.copy(file.buffer, chunk.offset);
    file.received += data.length;
    if (chunk.last) file.last = true;
  }

  /** The complete files, or a GenerationFailedError naming what is incomplete. */
  complete(prompt: string, seed: number): ClipFile[] {
    const out: ClipFile[] = [];
    for (const [format, f] of this.files) {
      if (!f.last || f.received !== f.buffer.length)
        throw new GenerationFailedError(`The ${format} clip arrived incomplete (${f.received} of ${f.buffer.length} bytes).`);
      out.push({
        data: f.buffer,
        mimeType: f.meta.mimeType,
        format,
        fileName: clipFileName(prompt, seed, format),
        width: f.meta.width,
        height: f.meta.height,
        frames: f.meta.frames,
        fps: f.meta.fps,
      });
    }
    return out;
  }
}

function timingsFrom(done: Done__Output): ClipTimings {
  const t = done.timings;
  return {
    queuedMs: t?.queuedMs ?? 0,
    textEncodeMs: t?.textEncodeMs ?? 0,
    denoiseMs: t?.denoiseMs ?? 0,
    decodeMs: t?.decodeMs ?? 0,
    encodeMs: t?.encodeMs ?? 0,
    totalMs: t?.totalMs ?? 0,
    perStepMs: t?.perStepMs ?? 0,
    firstPreviewMs: t?.firstPreviewMs ?? 0,
  };
}

/** Runs the job to its end; never rejects. */
export async function runJob(job: JobRecord, request: GenerateRequest, ctx: RunJobContext): Promise<JobOutcome> {
  const { surface } = job;
  const throttle = new UpdateThrottle(ctx.clock, surface.adapter.limits.minUpdateIntervalMs, ctx.logger);
  const assembler = new ClipAssembler();
  let done: Done__Output | undefined;

  const end = async (outcome: JobOutcome, call: () => Promise<void>): Promise<JobOutcome> => {
    job.finishedAt = ctx.clock.now();
    try {
      await throttle.finish(call);
    } catch (err) {
      ctx.logger.error(`job ${job.id}: the final ${outcome.status} message failed`, err);
      if (outcome.status === 'delivered') {
        // The clip could not be posted: say so instead of going quiet.
        const error = toBotError(err, 'The clip was made but could not be posted here.');
        job.state = 'failed';
        try {
          await surface.fail(error);
        } catch (again) {
          ctx.logger.error(`job ${job.id}: could not report the failure either`, again);
        }
        return { jobId: job.id, status: 'failed', error };
      }
    }
    return outcome;
  };

  try {
    // A job stopped before its call starts (e.g. the adapter could not post its message) never reaches the daemon.
    if (job.abort.signal.aborted) throw job.stopReason ?? new CancelledError('The job was stopped before it started.');
    const deadline = ctx.deadlineMs ? new Date(Date.now() + ctx.deadlineMs) : undefined;
    const stream = ctx.connection.generate(request, deadline ? { signal: job.abort.signal, deadline } : { signal: job.abort.signal });
    for await (const event of stream) {
      if (event.queued) {
        const { position, etaSeconds } = event.queued;
        job.state = 'queued';
        throttle.update('queued', () => surface.showQueued(position, etaSeconds));
      } else if (event.started) {
        const s = event.started;
        job.state = 'running';
        const info = { model: s.model, seed: s.seed, totalSteps: s.totalSteps, frames: s.frames, width: s.width, height: s.height, fps: s.fps };
        if (surface.showStarted) throttle.update('started', () => surface.showStarted?.(info) ?? Promise.resolve());
      } else if (event.progress) {
        const p = event.progress;
        job.state = 'running';
        const update = { step: p.step, total: p.totalSteps, stage: p.stage, etaSeconds: p.etaSeconds, elapsedSeconds: p.elapsedSeconds };
        throttle.update('progress', () => surface.showProgress(update));
      } else if (event.preview) {
        const p = event.preview;
        const image = { data: Buffer.from(p.image), mimeType: p.mimeType, step: p.step, total: p.totalSteps, width: p.width, height: p.height, frames: p.frames };
        throttle.update('preview', () => surface.showPreview(image));
      } else if (event.clip) {
        assembler.add(event.clip);
      } else if (event.done) {
        done = event.done;
      }
    }
    if (!done) throw new GenerationFailedError('The daemon ended the job without a clip.');
    const files = assembler.complete(done.prompt || job.options.prompt, done.seed);
    const wanted = WIRE_TO_FORMAT[String(request.formats?.[0] ?? 'MP4')] ?? 'mp4';
    const clip = files.find((f) => f.format === wanted) ?? files[0];
    if (!clip) throw new GenerationFailedError('The daemon finished without sending the clip file.');
    const info: ClipInfo = {
      jobId: job.id,
      prompt: done.prompt || job.options.prompt,
      negativePrompt: job.options.negative ?? '',
      seed: done.seed,
      steps: done.steps,
      guidance: done.guidanceScale,
      frames: done.frames,
      fps: done.fps,
      width: done.width,
      height: done.height,
      model: done.model,
      scheduler: done.scheduler,
      unknownWords: done.unknownWords,
      timings: timingsFrom(done),
      requester: job.requester,
      ...(job.variant ? { variant: job.variant } : {}),
      alternatives: files.filter((f) => f !== clip),
    };
    job.result = info;
    job.state = 'delivered';
    return await end({ jobId: job.id, status: 'delivered', info }, () => surface.deliverClip(clip, info));
  } catch (err) {
    if (job.stopReason) {
      const error = job.stopReason;
      job.state = 'failed';
      return end({ jobId: job.id, status: 'failed', error }, () => surface.fail(error));
    }
    if (job.cancelledBy !== undefined && (job.abort.signal.aborted || (isServiceError(err) && err.code === GrpcStatus.CANCELLED))) {
      const by = job.cancelledBy;
      job.state = 'cancelled';
      return end({ jobId: job.id, status: 'cancelled', by }, () => surface.cancelled(by));
    }
    const error = botErrorFromRpc(err);
    if (!(err instanceof BotError) && !isServiceError(err)) ctx.logger.error(`job ${job.id} failed unexpectedly`, err);
    job.state = 'failed';
    return end({ jobId: job.id, status: 'failed', error }, () => surface.fail(error));
  }
}
