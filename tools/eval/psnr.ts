// Peak signal-to-noise ratio of one frame against a reference: the image-to-video table's "does the clip start
// from the image" figure (issue #22 asks for ≥ 25 dB).

/** Packed RGB24 frame of `width` × `height`. */
export interface RgbFrame {
  width: number;
  height: number;
  rgb: Uint8Array;
}

/**
 * PSNR in dB over every channel of every pixel, 10·log10(255² / MSE); Infinity for identical frames. The decoded
 * clip may be larger than the reference (MP4 pads odd sides to even), so the top-left reference-sized window of
 * `frame` is compared; a smaller frame is an error, not a silent partial comparison.
 */
export function psnr(frame: RgbFrame, reference: RgbFrame): number {
  const { width, height } = reference;
  if (frame.width < width || frame.height < height) {
    throw new RangeError(`psnr: the frame is ${frame.width}x${frame.height}, smaller than the ${width}x${height} reference`);
  }
  for (const [what, f] of [['frame', frame], ['reference', reference]] as const) {
    if (f.rgb.length !== f.width * f.height * 3) throw new RangeError(`psnr: the ${what} has ${f.rgb.length} bytes, not ${f.width}x${f.height}x3`);
  }
  let sum = 0;
  for (let y = 0; y < height; y++) {
    const a = y * frame.width * 3;
    const b = y * width * 3;
    for (let i = 0; i < width * 3; i++) {
      const d = frame.rgb[a + i]! - reference.rgb[b + i]!;
      sum += d * d;
    }
  }
  const mse = sum / (width * height * 3);
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}
