/**
 * Provenance of a clip: what the file itself says about where it came from (issue #25). Every MP4 the daemon makes
 * carries, as container metadata readable with `ffprobe -show_entries format_tags`, that it is AI-generated, the model
 * and its package hash, the seed and the settings that reproduce it. The prompt and negative prompt only when the
 * operator asks (ANIMATE_PROVENANCE_PROMPTS): they are people's words, and a file travels beyond the thread it was made
 * in (prompts are kept out of logs by default for the same reason, ANIMATE_LOG_PROMPTS).
 *
 * Request text (prompt, negative prompt, model and style names) reaches ffmpeg only here, as the value of a
 * `-metadata key=value` argument: one argv entry each (no shell, no filter string), which ffmpeg splits at the first
 * '=' and stores as is. Keys are ours and fixed. Values are bounded and cleaned (cleanMetadataText) so a request
 * cannot put megabytes or terminal control sequences into a file other people download.
 *
 * What each container carries through ffmpeg:
 * - MP4: everything below, as `mdta` keys (`-movflags +use_metadata_tags`: without it the mov muxer drops keys it has
 *   no atom for, which is all of ours but `comment`).
 * - GIF: nothing. ffmpeg's GIF muxer writes no Comment Extension and drops `-metadata`.
 * - WebP: nothing. ffmpeg's WebP muxer writes no EXIF/XMP chunk.
 *   (WebM, not made here, would keep every key as a Matroska SimpleTag.)
 * So GIF and WebP clips rely on the visible watermark (watermark.ts), when the operator sets one, and on the Done
 * message, which repeats the model, hash, seed and settings.
 */
import type { ClipFormat } from './options.ts';

/** Longest prompt (and negative prompt) stored, in characters (code points); longer ones are cut and end with '…'. */
export const PROVENANCE_PROMPT_MAX_CHARS = 1000;
/** Longest model or style name stored, in characters. */
export const PROVENANCE_NAME_MAX_CHARS = 200;

/**
 * IPTC's term for media made by a trained model ("Digital Source Type" vocabulary): the value C2PA manifests and
 * news-industry tools look for.
 */
export const IPTC_TRAINED_ALGORITHMIC_MEDIA = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia';

/** The software named in the `generator` key. */
export const PROVENANCE_GENERATOR = 'animate-chat';

/** What the daemon knows about one clip when it encodes it (the job's spec and its model package). */
export interface ClipProvenance {
  /** Model package name and its SHA-256 (inference/model/package.ts hashPackage). */
  model: string;
  modelHash: string;
  seed: number;
  steps: number;
  guidanceScale: number;
  scheduler: string;
  /** The generated size and length (before any upscale or fitting). */
  width: number;
  height: number;
  frames: number;
  fps: number;
  /** The prompt, only when the operator opted in (ANIMATE_PROVENANCE_PROMPTS); absent: no prompt tag. */
  prompt?: string | undefined;
  /** Likewise; '' for none (then the key is left out: ffmpeg reads an empty -metadata value as "delete"). */
  negativePrompt?: string | undefined;
  /** '' for the base model. */
  style: string;
  styleStrength: number;
  /** text-to-video, or image-to-video when the request started from an image. */
  source: 'text-to-video' | 'image-to-video';
}

/**
 * Text safe to store: C0/C1 control characters (newlines and tabs included), DEL, lone surrogates and the
 * bidirectional overrides that can make a file name or tag read backwards are each replaced by a space, runs of
 * spaces collapse, the ends are trimmed, and at most `maxChars` code points are kept (the last one '…' when cut).
 */
export function cleanMetadataText(text: string, maxChars: number): string {
  const cleaned = text
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, ' ')
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
  const chars = Array.from(cleaned);
  if (chars.length <= maxChars) return cleaned;
  return `${chars.slice(0, Math.max(0, maxChars - 1)).join('').trimEnd()}…`;
}

/** A number as ffprobe shows it back: integers plainly, others with at most 4 decimals (7.5, 0.8333). */
function numberText(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(4)));
}

/**
 * The tags, in a fixed order, as [key, value] with cleaned values. Empty values are left out (see ClipProvenance).
 * `comment` is the one-line summary players show; the other keys are for tools.
 */
export function provenanceTags(p: ClipProvenance): Array<[key: string, value: string]> {
  const model = cleanMetadataText(p.model, PROVENANCE_NAME_MAX_CHARS);
  const style = cleanMetadataText(p.style, PROVENANCE_NAME_MAX_CHARS);
  const tags: Array<[string, string]> = [
    ['comment', `AI-generated video (${p.source}, model ${model}, seed ${numberText(p.seed)})`],
    ['ai_generated', 'true'],
    ['digital_source_type', IPTC_TRAINED_ALGORITHMIC_MEDIA],
    ['generator', PROVENANCE_GENERATOR],
    ['source', p.source],
    ['model', model],
    ['model_hash', cleanMetadataText(p.modelHash, PROVENANCE_NAME_MAX_CHARS)],
    ['seed', numberText(p.seed)],
    ['steps', numberText(p.steps)],
    ['guidance_scale', numberText(p.guidanceScale)],
    ['scheduler', cleanMetadataText(p.scheduler, PROVENANCE_NAME_MAX_CHARS)],
    ['size', `${numberText(p.width)}x${numberText(p.height)}`],
    ['frames', numberText(p.frames)],
    ['fps', numberText(p.fps)],
    ['style', style],
    ['style_strength', style === '' ? '' : numberText(p.styleStrength)],
    ['prompt', cleanMetadataText(p.prompt ?? '', PROVENANCE_PROMPT_MAX_CHARS)],
    ['negative_prompt', cleanMetadataText(p.negativePrompt ?? '', PROVENANCE_PROMPT_MAX_CHARS)],
  ];
  return tags.filter(([, value]) => value !== '');
}

/**
 * The ffmpeg output arguments that write the provenance into a clip of `format`: `-metadata key=value` pairs, each
 * value one argv entry, and for MP4 the movflag that makes the muxer keep custom keys (the caller merges it into its
 * own `-movflags`, since a second `-movflags` would replace the first). GIF and WebP get none: their muxers drop them.
 */
export function provenanceArgs(p: ClipProvenance | undefined, format: ClipFormat): { metadata: string[]; movflags: string[] } {
  if (p === undefined || format !== 'mp4') return { metadata: [], movflags: [] };
  return {
    metadata: provenanceTags(p).flatMap(([key, value]) => ['-metadata', `${key}=${value}`]),
    movflags: ['use_metadata_tags'],
  };
}
