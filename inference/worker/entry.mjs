// Plain-JS entry of the worker thread: registers the TypeScript loader (tsx), then loads the typed worker body.
// Needed because workers start without the parent's loader hooks when the parent runs under vitest.
import { register } from 'tsx/esm/api';

register();
await import('./onnx-worker.ts');
