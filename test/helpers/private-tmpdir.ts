// A private TMPDIR for one test file (os.tmpdir() reads it on every call, and each test file runs in its own
// process), so checks that no temporary file is left behind are not disturbed by other files or programs using the
// media module at the same time. Also resolves the media binaries once, so the first test does not pay for it.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { getMediaBinaries } from '../../inference/media/index.ts';

/** Registers the hooks; the returned function gives the folder once beforeAll has run. */
export function usePrivateTmpdir(prefix: string): () => string {
  let privateTmp = '';
  const originalTmpdir = process.env['TMPDIR'];
  beforeAll(async () => {
    privateTmp = await mkdtemp(path.join(os.tmpdir(), prefix));
    process.env['TMPDIR'] = privateTmp;
    await getMediaBinaries({ log: () => {} });
  });
  afterAll(async () => {
    if (originalTmpdir === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = originalTmpdir;
    await rm(privateTmp, { recursive: true, force: true });
  });
  return () => privateTmp;
}
