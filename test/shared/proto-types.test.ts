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
      execFileSync(bin, ['--longs=String', '--enums=String', '--defaults', '--oneofs', '--grpcLib=@grpc/grpc-js', `--outDir=${out}`, 'proto/animate/v1/animator.proto', 'proto/grpc/health/v1/health.proto']);
      const committed = path.resolve('shared/proto/gen');
      expect(files(out).sort()).toEqual(files(committed).sort());
      for (const f of files(out)) expect(readFileSync(path.join(committed, f), 'utf8'), f).toBe(readFileSync(path.join(out, f), 'utf8'));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
