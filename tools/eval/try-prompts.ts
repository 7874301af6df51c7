// Quick look at how the model does on given prompts (training-distribution sanity check):
//   npx tsx tools/eval/try-prompts.ts [--model DIR] [--steps N] "prompt|colour|motion|scene|seed" ...
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { judgeClip } from './checks.ts';
import { generateClip } from './generate.ts';
import { loadWorld } from './world.ts';
import { startDaemon } from '../../inference/server/daemon.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { model: { type: 'string' }, steps: { type: 'string' } } });
const world = loadWorld();
const modelDir = values.model ? path.resolve(values.model) : undefined;
const name = modelDir ? (JSON.parse(readFileSync(path.join(modelDir, 'model_index.json'), 'utf8')) as { name?: string }).name : undefined;
const daemon = await startDaemon({ listen: '127.0.0.1:0', ...(modelDir ? { modelDirs: [modelDir], ...(name ? { defaultModel: name } : {}) } : {}) });
try {
  for (const spec of positionals) {
    const [prompt = '', colour, motion, scene, seed = '1'] = spec.split('|');
    const clip = await generateClip(daemon.address, { prompt, seed: Number(seed), ...(values.steps ? { steps: Number(values.steps) } : {}) });
    const v = judgeClip(world, clip);
    const mark = (want: string | undefined, got: string | undefined): string => (want === undefined ? `${got}` : want === got ? `${got} ok` : `${got} (want ${want})`);
    console.log(`${prompt} [seed ${seed}]: colour ${mark(colour, v.colour)}, motion ${mark(motion, v.motion)}, scene ${mark(scene, v.scene)}, shape ${v.shape}, presence ${v.presence.toFixed(2)}`);
  }
} finally {
  await daemon.close();
}
