// Plain-JS entry of the preview encoder's worker thread: registers the TypeScript loader (tsx), then loads the typed
// body. Needed because workers start without the parent's loader hooks when the parent runs under vitest.
import { register } from 'tsx/esm/api';

register();
await import('./preview-worker.ts');
