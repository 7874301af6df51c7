// Runs one job: streams Generate from the daemon, turns its events into (throttled) JobSurface calls,
// reassembles the clip from its chunks, and ends with exactly one of deliverClip / fail / cancelled.
// Whatever happens (daemon gone, bad chunk, adapter throwing), the person gets a final message.
import { isServiceError, type AnimatorConnection } from '../../shared/rpc/client.ts';
import { ClientCallCode, isDaemonCallError } from '../../shared/rpc/rpc-error.ts';
import type { ClipChunk__Output, Done__Output, GenerateEvent__Output, GenerateRequest } from '../../shared/rpc/types.ts';
import type { ClipFile, ClipFormat, ClipInfo, ClipTimings, JobSurface } from './adapter.ts';
import type { Clock } from './clock.ts';
import { BotError, JobCancelledError, DaemonStalledError, DeadlineExceededError, GenerationFailedError, toBotError } from './errors.ts';
import type { JobOutcome, JobRecord } from './jobs.ts';
import type { Logger } from './logger.ts';
import type { BotMetrics } from './metrics.ts';
import { clipFileName, toWireRequester } from './request.ts';
import { CLIP_FORMAT_TO_WIRE, clipFormatFromWire, DEFAULT_CLIP_FORMAT } from '../../shared/wire/formats.ts';
import { botErrorFromRpc, describeRpcError } from './rpc-errors.ts';
import { UpdateThrottle } from './throttle.ts';
import { DEFAULT_LIVENESS, JobWatchdog, type LivenessOptions, type WatchdogExpiry } from './watchdog.ts';
import { roundStyleStrength } from '../../shared/wire/styles.ts';

export interface RunJobContext {
  connection: AnimatorConnection;
  clock: Clock;
  logger: Logger;
  /** A hard cap on the whole job (queue included), sent as the gRPC deadline; undefined = none. */
  deadlineMs?: number | undefined;
  /** The job's ETA-derived deadline and stall limits (watchdog.ts). Default DEFAULT_LIVENESS. */
  liveness?: LivenessOptions | undefined;
  /** Counts the first preview and a clip the platform would not take; undefined = not counted. */
  metrics?: BotMetrics | undefined;
  /** When the request arrived (ctx.clock, ms), for the time to the first preview. Default: the job's createdAt. */
  receivedAt?: number | undefined;
}

/** What the person is told when the watchdog gives up on a job. */
function expiryError(expiry: WatchdogExpiry): BotError {
  if (expiry.kind === 'deadline')
    return new DeadlineExceededError('The clip took far longer than the server estimated, so it was stopped. Try fewer steps or a shorter clip.');
  return new DaemonStalledError('The animation server stopped responding, so this clip was cancelled. Try again in a moment.');
}

function describeExpiry(expiry: WatchdogExpiry): string {
  return expiry.kind === 'deadline'
    ? `its deadline passed (${Math.round(expiry.elapsedMs / 1000)} s elapsed, budget ${Math.round(expiry.budgetMs / 1000)} s from the last ETA, phase ${expiry.phase})`
    : `the daemon was silent for ${Math.round(expiry.silentMs / 1000)} s while ${expiry.phase} (limit ${Math.round(expiry.limitMs / 1000)} s)`;
}

/**
 * The largest clip file the bot takes from the daemon when the request set no max_clip_bytes, or for a file the
 * daemon flags over_limit (the smallest it could make, sent over the limit for a link). The buffer is allocated from
 * the first chunk's total_bytes (the wire allows up to 4 GiB), so it is capped before anything is allocated.
 */
export const MAX_ASSEMBLED_CLIP_BYTES = 1024 * 1024 * 1024;

export interface ClipAssemblerOptions {
  /** The request's max_clip_bytes: a file the daemon says it fitted (no over_limit) may be no larger. */
  maxClipBytes?: number | undefined;
}

/**
 * Collects clip chunks per format and checks that every byte arrived. The daemon sends each format's chunks in order
 * (animator.proto, ClipChunk), so each chunk must start where the last one ended: a resent chunk or a gap is refused,
 * and complete() cannot be fooled by a duplicate counting for a missing chunk.
 */
export class ClipAssembler {
  private readonly files = new Map<ClipFormat, { buffer: Buffer; received: number; last: boolean; meta: ClipChunk__Output }>();

  constructor(private readonly options: ClipAssemblerOptions = {}) {}

  /** The largest file of this chunk's kind: the request's limit for a fitted file, else MAX_ASSEMBLED_CLIP_BYTES. */
  private capFor(chunk: ClipChunk__Output): number {
    const limit = this.options.maxClipBytes;
    if (limit === undefined || chunk.fit?.overLimit) return MAX_ASSEMBLED_CLIP_BYTES;
    return Math.min(limit, MAX_ASSEMBLED_CLIP_BYTES);
  }

  add(chunk: ClipChunk__Output): void {
    const format = clipFormatFromWire(chunk.format) ?? DEFAULT_CLIP_FORMAT;
    let file = this.files.get(format);
    if (!file) {
      const cap = this.capFor(chunk);
      if (chunk.totalBytes > cap)
        throw new GenerationFailedError(`The daemon announced a ${format} clip of ${chunk.totalBytes} bytes, over the ${cap} bytes this bot takes.`);
      file = { buffer: Buffer.alloc(chunk.totalBytes), received: 0, last: false, meta: chunk };
      this.files.set(format, file);
    }
    const data = Buffer.from(chunk.data);
    if (file.last) throw new GenerationFailedError(`The daemon sent a ${format} chunk after the file's last one.`);
    if (chunk.totalBytes !== file.buffer.length)
      throw new GenerationFailedError(`The daemon changed the ${format} clip's size mid-file (${file.buffer.length}, then ${chunk.totalBytes} bytes).`);
    if (chunk.offset !== file.received)
      throw new GenerationFailedError(`The daemon sent a ${format} chunk out of order (at byte ${chunk.offset}, expected ${file.received}).`);
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
        ...(f.meta.fit ? { fit: { ...f.meta.fit } } : {}),
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

/** Ends the job with `outcome` through `call` (after any pending throttled update); a clip that cannot be posted
 * turns into a failure the person is told about instead of going quiet. */
type EndJob = (outcome: JobOutcome, call: () => Promise<void>) => Promise<JobOutcome>;

function jobEnder(job: JobRecord, throttle: UpdateThrottle, ctx: RunJobContext): EndJob {
  return async (outcome, call) => {
    job.finishedAt = ctx.clock.now();
    try {
      await throttle.finish(call);
    } catch (err) {
      ctx.logger.error(`job ${job.id}: the final ${outcome.status} message failed`, err);
      if (outcome.status === 'delivered') {
        ctx.metrics?.uploadFailed(job.surface.adapter.platform);
        const error = toBotError(err, 'The clip was made but could not be posted here.');
        job.state = 'failed';
        try {
          await job.surface.fail(error);
        } catch (again) {
          ctx.logger.error(`job ${job.id}: could not report the failure either`, again);
        }
        return { jobId: job.id, status: 'failed', error };
      }
    }
    return outcome;
  };
}

/**
 * Gives up on a job whose daemon went silent or that ran far past its ETA: cancels it on the daemon (best effort:
 * a frozen daemon reads the Cancel when it thaws) and aborts the call, so the stream ends with stopReason.
 */
function watchdogFor(job: JobRecord, ctx: RunJobContext): JobWatchdog {
  return new JobWatchdog({
    clock: ctx.clock,
    liveness: ctx.liveness ?? DEFAULT_LIVENESS,
    probe: () => ctx.connection.listModels(),
    onExpire: (expiry) => {
      if (job.abort.signal.aborted || job.stopReason) return;
      ctx.logger.warn(`job ${job.id}: ${describeExpiry(expiry)}; cancelling it`);
      // A person's Cancel already under way ends as their cancellation, not as a stall.
      if (job.cancelledBy === undefined) job.stopReason = expiryError(expiry);
      ctx.connection
        .cancel(job.id, expiry.kind === 'deadline' ? 'the bot stopped the job: its deadline passed' : 'the bot stopped the job: the daemon was silent too long', toWireRequester(job.requester))
        .catch((err: unknown) => ctx.logger.debug(`job ${job.id}: the Cancel after ${expiry.kind} did not reach the daemon`, describeRpcError(err)));
      job.abort.abort();
    },
  });
}

/** One stream event: the job's state, a (throttled) surface update or a clip chunk. Returns the Done event. */
function applyEvent(job: JobRecord, event: GenerateEvent__Output, throttle: UpdateThrottle, assembler: ClipAssembler): Done__Output | undefined {
  const surface: JobSurface = job.surface;
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
    return event.done;
  }
  return undefined;
}

/** The finished clip in the format asked for first, and what the person is told about it. */
function finishedClip(job: JobRecord, request: GenerateRequest, done: Done__Output, assembler: ClipAssembler): { clip: ClipFile; info: ClipInfo } {
  const prompt = done.prompt || job.options.prompt;
  const files = assembler.complete(prompt, done.seed);
  const wanted = clipFormatFromWire(request.formats?.[0] ?? CLIP_FORMAT_TO_WIRE[DEFAULT_CLIP_FORMAT]) ?? DEFAULT_CLIP_FORMAT;
  const clip = files.find((f) => f.format === wanted) ?? files[0];
  if (!clip) throw new GenerationFailedError('The daemon finished without sending the clip file.');
  const info: ClipInfo = {
    jobId: job.id,
    prompt,
    negativePrompt: job.options.negative ?? '',
    seed: done.seed,
    steps: done.steps,
    guidance: done.guidanceScale,
    frames: done.frames,
    fps: done.fps,
    width: done.width,
    height: done.height,
    model: done.model,
    // What the daemon says it used (a wire float: 0.7 arrives as 0.699999988, so rounded as the daemon uses it).
    ...(done.style ? { style: { name: done.style, strength: roundStyleStrength(done.styleStrength) } } : {}),
    scheduler: done.scheduler,
    unknownWords: done.unknownWords,
    timings: timingsFrom(done),
    requester: job.requester,
    ...(job.variant ? { variant: job.variant } : {}),
    alternatives: files.filter((f) => f !== clip),
    // Extend starts the next clip from this frame (absent from a daemon that does not send it: no Extend button).
    ...(done.lastFrame?.length ? { lastFrame: done.lastFrame } : {}),
  };
  return { clip, info };
}

/** How a job that threw ends: the bot's own stop, a person's cancel, or a failure (redacted for the person). */
function endOnError(job: JobRecord, err: unknown, ctx: RunJobContext, end: EndJob): Promise<JobOutcome> {
  const { surface } = job;
  if (job.stopReason) {
    const error = job.stopReason;
    job.state = 'failed';
    return end({ jobId: job.id, status: 'failed', error }, () => surface.fail(error));
  }
  if (job.cancelledBy !== undefined && (job.abort.signal.aborted || (isDaemonCallError(err) && err.code === ClientCallCode.Cancelled))) {
    const by = job.cancelledBy;
    job.state = 'cancelled';
    return end({ jobId: job.id, status: 'cancelled', by }, () => surface.cancelled(by));
  }
  const error = botErrorFromRpc(err);
  // The person sees a redacted sentence and a code; the whole detail (paths, stacks) goes to the log.
  if (isDaemonCallError(err) || isServiceError(err)) ctx.logger.warn(`job ${job.id} failed: ${describeRpcError(err)}`);
  else if (!(err instanceof BotError)) ctx.logger.error(`job ${job.id} failed unexpectedly`, err);
  job.state = 'failed';
  return end({ jobId: job.id, status: 'failed', error }, () => surface.fail(error));
}

/** Runs the job to its end; never rejects. */
export async function runJob(job: JobRecord, request: GenerateRequest, ctx: RunJobContext): Promise<JobOutcome> {
  const throttle = new UpdateThrottle(ctx.clock, job.surface.adapter.limits.minUpdateIntervalMs, ctx.logger);
  const assembler = new ClipAssembler({ maxClipBytes: request.maxClipBytes });
  const end = jobEnder(job, throttle, ctx);
  const watchdog = watchdogFor(job, ctx);
  let done: Done__Output | undefined;
  try {
    // A job stopped before its call starts (e.g. the adapter could not post its message) never reaches the daemon.
    if (job.abort.signal.aborted) throw job.stopReason ?? new JobCancelledError('The job was stopped before it started.');
    const deadline = ctx.deadlineMs ? new Date(Date.now() + ctx.deadlineMs) : undefined;
    const stream = ctx.connection.generate(request, deadline ? { signal: job.abort.signal, deadline } : { signal: job.abort.signal });
    watchdog.start();
    let previewSeen = false;
    for await (const event of stream) {
      watchdog.observe(event);
      if (event.preview && !previewSeen) {
        previewSeen = true;
        ctx.metrics?.firstPreviewShown(job.surface.adapter.platform, (ctx.clock.now() - (ctx.receivedAt ?? job.createdAt)) / 1000);
      }
      done = applyEvent(job, event, throttle, assembler) ?? done;
    }
    // The daemon's part is over: posting the clip may take a while and is no stall (finally stops it on the other paths).
    watchdog.stop();
    if (!done) throw new GenerationFailedError('The daemon ended the job without a clip.');
    const { clip, info } = finishedClip(job, request, done, assembler);
    job.result = info;
    job.state = 'delivered';
    return await end({ jobId: job.id, status: 'delivered', info }, () => job.surface.deliverClip(clip, info));
  } catch (err) {
    return endOnError(job, err, ctx, end);
  } finally {
    watchdog.stop();
  }
}
