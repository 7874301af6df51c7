// Which formats the CLI asks the daemon for, from --format and --out's extension, so that the file is what its name
// says: `--out heart.gif` alone makes a GIF; `--out clip.mkv` (a container the daemon does not write) is refused with
// the extensions it does, rather than MP4 bytes under a .mkv name; `--format mp4 --out a.gif` is refused as a
// contradiction. The formats are the wire's (shared/wire/formats.ts): a new one there is accepted here too.
import path from 'node:path';
import { CLIP_FORMATS, DEFAULT_CLIP_FORMAT, type ClipFormat } from '../../shared/wire/formats.ts';
import { CodedError } from '../../shared/errors.ts';

/**
 * The file of one seed of `--seeds` for `--out out`: its name with `-s<seed>` before the extension, in out's folder
 * (`runs.v2/clip` → `runs.v2/clip-s1.mp4`: a dot in a folder name is not an extension).
 */
export function seedFileName(out: string, seed: number, ext: string): string {
  const { dir, name } = path.parse(out);
  return path.join(dir, `${name}-s${seed}.${ext}`);
}

export class OutputFormatError extends CodedError<'UNSUPPORTED_FORMAT' | 'UNSUPPORTED_EXTENSION' | 'FORMAT_CONTRADICTS_EXTENSION'> {}

const isClipFormat = (name: string): name is ClipFormat => (CLIP_FORMATS as readonly string[]).includes(name);

/** ".mp4, .gif or .webp", for messages. */
export function allowedExtensions(): string {
  const exts = CLIP_FORMATS.map((f) => `.${f}`);
  return exts.length > 1 ? `${exts.slice(0, -1).join(', ')} or ${exts.at(-1)}` : exts[0]!;
}

/**
 * The formats to request, first one naming the file. `formats` are the --format values (repeatable), `out` the --out
 * file. A file without an extension keeps its name and gets the --format (else the default, mp4).
 */
export function resolveOutputFormats(formats: readonly string[] | undefined, out: string | undefined): ClipFormat[] {
  const asked = (formats ?? []).map((f) => f.trim().toLowerCase());
  for (const f of asked) {
    if (!isClipFormat(f)) throw new OutputFormatError('UNSUPPORTED_FORMAT', `--format ${f} is not one the daemon writes; allowed: ${CLIP_FORMATS.join(', ')}`);
  }
  const ext = out ? path.extname(out).slice(1).toLowerCase() : '';
  if (ext && !isClipFormat(ext)) {
    throw new OutputFormatError('UNSUPPORTED_EXTENSION', `--out ${out}: the daemon writes ${CLIP_FORMATS.join(', ')} clips, not .${ext}; name the file ${allowedExtensions()} (e.g. --out ${out!.slice(0, -ext.length)}mp4)`);
  }
  const unique = [...new Set(asked)] as ClipFormat[];
  if (!unique.length) return [ext ? (ext as ClipFormat) : DEFAULT_CLIP_FORMAT];
  if (ext && !unique.includes(ext as ClipFormat)) {
    throw new OutputFormatError('FORMAT_CONTRADICTS_EXTENSION', `--out ${out} is a .${ext} file but --format asks for ${unique.join(', ')}; drop --format (the extension decides) or name the file .${unique[0]}`);
  }
  // The extension's format first: it names the file; the others are written beside it with their own extensions.
  return ext ? [ext as ClipFormat, ...unique.filter((f) => f !== ext)] : unique;
}
