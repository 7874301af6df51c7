// Compares onnxruntime-node's outputs for the exported package against PyTorch's reference outputs written by
// training/export.py, and times a denoiser call (batch 2) and a VAE decode.
//   node training/verify_onnx.mjs [models/tiny-world] [training/runs/export-check]
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

const pkg = process.argv[2] ?? 'models/tiny-world';
const refDir = process.argv[3] ?? 'training/runs/export-check';
const threads = Number(process.env.ORT_THREADS ?? 2);

function loadRef(name) {
  const index = JSON.parse(readFileSync(path.join(refDir, `${name}.json`), 'utf8'));
  const out = {};
  for (const [key, { dtype, shape }] of Object.entries(index)) {
    const buf = readFileSync(path.join(refDir, `${name}.${key}.bin`));
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    const data = dtype === 'int64' ? new BigInt64Array(ab) : new Float32Array(ab);
    out[key] = new ort.Tensor(dtype === 'int64' ? 'int64' : 'float32', data, shape);
  }
  return out;
}

async function check(component, inputs, outputName) {
  const session = await ort.InferenceSession.create(path.join(pkg, component, 'model.onnx'), {
    intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all',
  });
  const ref = loadRef(component);
  const feeds = Object.fromEntries(inputs.map((k) => [k, ref[k]]));
  const result = await session.run(feeds);
  const got = result[session.outputNames[0]].data;
  const want = ref[outputName].data;
  let maxErr = 0;
  let maxRef = 0;
  for (let i = 0; i < want.length; i++) {
    maxErr = Math.max(maxErr, Math.abs(got[i] - want[i]));
    maxRef = Math.max(maxRef, Math.abs(want[i]));
  }
  const times = [];
  for (let i = 0; i < 8; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const ok = maxErr <= 1e-3 * Math.max(1, maxRef);
  console.log(`${component}: max |onnx - torch| = ${maxErr.toExponential(2)} (max |ref| ${maxRef.toFixed(3)}) ${ok ? 'OK' : 'MISMATCH'}; ` +
    `median ${times[4].toFixed(1)} ms, min ${times[0].toFixed(1)} ms per call (input ${JSON.stringify(feeds[inputs[0]].dims)})`);
  return ok;
}

const results = [
  await check('text_encoder', ['input_ids'], 'last_hidden_state'),
  await check('transformer', ['hidden_states', 'timestep', 'encoder_hidden_states'], 'sample'),
  await check('vae_decoder', ['latent_sample'], 'sample'),
  // optional: not read by the daemon, shipped so that training can resume from the package (import_package.py)
  ...(existsSync(path.join(pkg, 'vae_encoder', 'model.onnx')) ? [await check('vae_encoder', ['sample'], 'latent_sample')] : []),
];
if (results.some((ok) => !ok)) process.exit(1);
