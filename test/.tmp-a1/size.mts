export {};
import { startFixtureDaemon, collect, clipBytes } from '../helpers/fixture-daemon.ts';
async function main() {
const fx = await startFixtureDaemon({ fixture: { spatialFactor: 1, limits: { max_side: 1024, max_frames: 65 } } });
for (const [w, f, fmt, up] of [[640, 33, 'MP4', 1], [384, 33, 'MP4', 2], [256, 33, 'MP4', 3]] as const) {
  const t0 = performance.now();
  const ev = await collect(fx.client.generate({ prompt: 'a red ball', seed: 1, steps: 1, guidanceScale: 1, width: w, height: w, frames: f, formats: [fmt], upscale: up, preview: { disabled: true } }));
  console.log(w, f, fmt, clipBytes(ev, fmt).length, Math.round(performance.now() - t0), 'ms', ev.length, 'events');
}
await fx.close();

}
void main();
