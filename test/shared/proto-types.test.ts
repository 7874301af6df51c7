// The committed wire types are exactly what proto-loader-gen-types makes from proto/: never edited by hand.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function files(root: string, rel = ''): string[] {
  return readdirSync(path.join(root, rel)).flatMap((name) => {
    const p = path.join(rel, name);
    return statSync(path.join(root, p)).isDirectory() ? files(root, p) : [p];
  });
}

describe('generated wire types', () => {
  it('match a fresh run of proto-loader-gen-types', () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'animate-gen-'));
    try {
      const bin = path.resolve('node_modules/.bin/proto-loader-gen-types');
      // The flags are package.json's gen:proto script's (written once there), with the output folder swapped.
      const script: string = JSON.parse(readFileSync('package.json', 'utf8')).scripts['gen:proto'];
      const args = script.split(/\s+/).slice(1).map((a) => (a.startsWith('--outDir=') ? `--outDir=${out}` : a));
      expect(args).toContain(`--outDir=${out}`);
      execFileSync(bin, args);
      const committed = path.resolve('shared/proto/gen');
      expect(files(out).sort()).toEqual(files(committed).sort());
      for (const f of files(out)) expect(readFileSync(path.join(committed, f), 'utf8'), f).toBe(readFileSync(path.join(out, f), 'utf8'));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
