// Content hashes of model folders: a package's (its provenance tag and the key its sessions are cached under) and a
// safety classifier's (the key of its one session, shared by packages that carry the same classifier). One module so
// both hash alike and neither reader imports the other: package.ts reads the classifier, so the classifier hashing
// through package.ts was an import cycle.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';

/** The folder's files as POSIX paths relative to it, sorted; `recursive: false` keeps to its top level. */
export async function listFiles(dir: string, options: { recursive: boolean }, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = path.posix.join(prefix, entry.name);
    if (entry.isDirectory() && options.recursive) out.push(...(await listFiles(dir, options, rel)));
    else if (entry.isFile()) out.push(rel);
  }
  return out.sort();
}

/** sha256 over the folder's files, each its relative path and then its bytes, in path order. */
export async function hashFolder(dir: string, options: { recursive: boolean }): Promise<string> {
  const hash = createHash('sha256');
  for (const rel of await listFiles(dir, options)) {
    hash.update(rel);
    // Streamed: external-data weights are many gigabytes, past what one readFile may hold (2 GiB).
    for await (const chunk of createReadStream(path.join(dir, rel), { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}
