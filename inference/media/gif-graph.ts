/**
 * The ffmpeg filter graph for GIF output, shared by clips and previews.
 *
 * - The palette is computed from a small, area-averaged copy of the frames: palettegen's cost grows faster than
 *   linearly with the number of distinct colours, and generated video has nearly all-distinct pixels, so a full-size
 *   pass took seconds (2.6 s for 256x256x33) while a 64x64 sample takes tens of milliseconds and keeps the colours.
 * - Colours are mapped at the source size with ordered (Bayer) dithering: stable from frame to frame, so unchanged
 *   areas stay identical and diff_mode=rectangle / LZW keep the file small.
 * - Enlargement (nearest neighbour) happens after mapping, followed by an exact re-mapping onto the same palette
 *   (every enlarged pixel already is a palette colour), which is far cheaper than dithering the enlarged frames.
 */
export interface GifGraphOptions {
  /** Filters that shrink the source first (previews of big frames); empty for none. */
  shrink: string[];
  /** Source size after `shrink`. */
  width: number;
  height: number;
  /** Integer nearest-neighbour enlargement applied after colour mapping (1 = none). */
  enlarge: number;
  /** Palette size, 2..256. */
  maxColors: number;
  /** Longest side of the palette sample. */
  sampleSide: number;
}

export function gifFilterGraph(o: GifGraphOptions): string {
  const longest = Math.max(o.width, o.height);
  const sampleScale =
    longest > o.sampleSide
      ? [`scale=${Math.max(1, Math.round((o.width * o.sampleSide) / longest))}:${Math.max(1, Math.round((o.height * o.sampleSide) / longest))}:flags=area`]
      : [];
  const mapping = 'paletteuse=dither=bayer:bayer_scale=3:diff_mode=rectangle';
  const graph = [
    [...o.shrink, 'split[frames][sample]'].join(','),
    [`[sample]${[...sampleScale, `palettegen=max_colors=${o.maxColors}:stats_mode=full`].join(',')}`].join(','),
  ];
  if (o.enlarge <= 1) {
    graph[1] += '[palette]';
    graph.push(`[frames][palette]${mapping}`);
  } else {
    graph[1] += ',split[palette][samePalette]';
    graph.push(
      `[frames][palette]${mapping},scale=iw*${o.enlarge}:ih*${o.enlarge}:flags=neighbor[enlarged]`,
      '[enlarged][samePalette]paletteuse=dither=none:diff_mode=rectangle',
    );
  }
  return graph.join(';');
}
