// The small interface each chat platform implements. The core drives a job's whole life through a JobSurface
// (the message / thread / page bubble where the job shows itself); adapters only translate these calls into
// their platform's messages. Nothing platform-specific belongs on this side of the line.
import type { BotError } from './errors.ts';
import type { AnimateOptions } from './options.ts';
import type { ClipFormat, PreviewFormat } from '../../shared/wire/formats.ts';
import type { PlatformName } from '../../shared/wire/platforms.ts';

// The platforms and the formats an adapter may ask the daemon for are the wire's words (shared/wire/); the first
// clip format is the one delivered, others ride along.
export type { ClipFormat, PlatformName, PreviewFormat };

export interface ChatAdapterLimits {
  /** Minimum time between two updates (queue / progress / preview) of one surface. Final states wait for it too. */
  minUpdateIntervalMs: number;
  /**
   * Largest file the platform accepts. Sent as GenerateRequest.max_clip_bytes: the daemon fits the clip under it; the
   * adapter decides what to do with a clip that could not fit (link, notice).
   */
  maxUploadBytes: number;
}

export interface ChatAdapter {
  readonly platform: PlatformName;
  readonly limits: ChatAdapterLimits;
  /** Formats to request from the daemon; default ['mp4']. The first is `clip`, the rest arrive in ClipInfo.alternatives. */
  readonly clipFormats?: readonly ClipFormat[];
  /** Preview image format; default 'webp' (both animate when uploaded to Discord / Slack). */
  readonly previewFormat?: PreviewFormat;
  /** Longest side of previews in pixels (daemon default 128, allowed 32..512). */
  readonly previewMaxSide?: number;
}

/** Who asked, or who pressed a button. */
export interface Requester {
  readonly platform: PlatformName;
  readonly userId: string;
  readonly displayName?: string;
  /** Discord channel / Slack channel / playground session. */
  readonly channelId: string;
  /** Discord guild / Slack team; per-server limits are keyed by it. */
  readonly serverId?: string;
  /** Moderators (Discord Manage Messages, Slack admins…) may cancel anyone's job. The adapter decides. */
  readonly isModerator?: boolean;
}

/** Why a surface is being spawned from another one. */
export type SpawnReason = 'variant' | 'reroll' | 'variations' | 'refine' | 'follow-up' | 'extend';

export interface SpawnContext {
  readonly reason: SpawnReason;
  /** Short human label, e.g. "Variant 2 of 4", "Reroll of job abc", "Refined: a blue ball at night". */
  readonly label: string;
  /** Who caused it (the button presser / follow-up author). */
  readonly requester: Requester;
}

/** Sent first, as soon as the core has accepted a job (before the daemon answers): carries the id buttons refer to. */
export interface AcceptedJob {
  readonly jobId: string;
  readonly options: AnimateOptions;
  /** The prompt the job will use (after conversational refinement or Q&A rewriting). */
  readonly prompt: string;
  /** Present when the prompt came from a follow-up / question: the person's text, so the reply can say what was used. */
  readonly derivedFrom?: { readonly kind: 'refinement' | 'question'; readonly text: string; readonly previousPrompt?: string };
  /** 1-based variant number and count when the request asked for several variants. */
  readonly variant?: { readonly index: number; readonly count: number };
  readonly requester: Requester;
}

export interface ProgressUpdate {
  /** Steps done, 1..total. */
  readonly step: number;
  readonly total: number;
  /** "denoise", "decode" or "encode". */
  readonly stage: string;
  readonly etaSeconds: number;
  readonly elapsedSeconds: number;
}

export interface PreviewImage {
  readonly data: Buffer;
  /** image/webp or image/gif */
  readonly mimeType: string;
  readonly step: number;
  readonly total: number;
  readonly width: number;
  readonly height: number;
  readonly frames: number;
}

export interface ClipFile {
  readonly data: Buffer;
  readonly mimeType: string;
  readonly format: ClipFormat;
  /** A name to upload the file under, e.g. "a-red-ball-bounces-seed42.mp4". */
  readonly fileName: string;
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  readonly fps: number;
  /** How the daemon made it fit ChatAdapter.limits.maxUploadBytes (wire ClipFit); absent when it fit as made. */
  readonly fit?: ClipFit | undefined;
}

/** What the daemon did to fit a clip under the upload limit the request carried (GenerateRequest.max_clip_bytes). */
export interface ClipFit {
  /** The limit it was fitted to. */
  readonly limitBytes: number;
  /** Its size at full quality and full size. */
  readonly originalBytes: number;
  /** Steps down the format's quality ladder (0: full quality). */
  readonly qualityStep: number;
  /** Sides divided by this: 1 (full size), 2, 4, … */
  readonly downscale: number;
  /** Nothing fit: this is the smallest the daemon could make, still over the limit (link it or say so). */
  readonly overLimit: boolean;
}

export interface ClipTimings {
  readonly queuedMs: number;
  readonly textEncodeMs: number;
  readonly denoiseMs: number;
  readonly decodeMs: number;
  readonly encodeMs: number;
  readonly totalMs: number;
  readonly perStepMs: number;
  readonly firstPreviewMs: number;
}

/** Everything a reply shows next to the clip; `jobId` is what the buttons refer to. */
export interface ClipInfo {
  readonly jobId: string;
  readonly prompt: string;
  readonly negativePrompt: string;
  readonly seed: number;
  readonly steps: number;
  readonly guidance: number;
  readonly frames: number;
  readonly fps: number;
  readonly width: number;
  readonly height: number;
  readonly model: string;
  /** The style the daemon generated with (Done.style) and its strength; absent without a style. */
  readonly style?: { readonly name: string; readonly strength: number } | undefined;
  readonly scheduler: string;
  /** Words of the prompt the model does not know (worth telling the person). */
  readonly unknownWords: readonly string[];
  readonly timings: ClipTimings;
  readonly requester: Requester;
  readonly variant?: { readonly index: number; readonly count: number };
  /** Other formats requested through ChatAdapter.clipFormats (e.g. a GIF fallback for big clips). */
  readonly alternatives: readonly ClipFile[];
  /**
   * The clip's last frame as a PNG (Done.last_frame), when the daemon sent one: the Extend button starts a new clip
   * from it, so adapters show Extend only when it is present.
   */
  readonly lastFrame?: Buffer | undefined;
}

export interface StartedInfo {
  readonly model: string;
  readonly seed: number;
  readonly totalSteps: number;
  readonly frames: number;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
}

/**
 * One per job: where a job shows its life. The core calls these in order and never two at once on one surface;
 * queue/progress/preview calls are throttled to ChatAdapter.limits.minUpdateIntervalMs (the latest one wins).
 * Exactly one of deliverClip / fail / cancelled ends every job.
 * A method that throws is logged; if deliverClip throws, the core calls fail() with a message instead.
 */
export interface JobSurface {
  readonly adapter: ChatAdapter;
  /**
   * The conversation thread this surface lives in, if any (read when the job ends, so an adapter may set it
   * late, e.g. once it has created a thread for the clip). Follow-ups in that thread refine this job's prompt.
   */
  readonly threadId?: string | undefined;
  accepted(job: AcceptedJob): Promise<void>;
  showQueued(position: number, etaSeconds: number): Promise<void>;
  showStarted?(info: StartedInfo): Promise<void>;
  showProgress(progress: ProgressUpdate): Promise<void>;
  showPreview(image: PreviewImage): Promise<void>;
  deliverClip(clip: ClipFile, info: ClipInfo): Promise<void>;
  /** A message the person sees; never silent. */
  fail(error: BotError): Promise<void>;
  /** The job was cancelled by a person (`by` is a display name or user id). */
  cancelled(by: string): Promise<void>;
  /**
   * A new surface next to this one (same thread / page) for a job born from this one: variants of one request,
   * reroll / variations / refine buttons, conversational follow-ups.
   */
  spawn(context: SpawnContext): Promise<JobSurface>;
}
