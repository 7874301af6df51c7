// ONNX external data, checked before onnxruntime sees the file. Graphs over 2 GB (protobuf's limit) keep their
// weights beside model.onnx (model.onnx_data, or one file per tensor), named by each initializer's
// `external_data.location`. onnxruntime-node finds them because sessions are created from the file's path; what it
// says when one is missing names a server path, so the package loader looks first and names the package file.
// This reads only field headers of model.onnx (the weights inside a large single-file graph are skipped by offset),
// so checking a multi-gigabyte export costs milliseconds.
import { existsSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

export interface ExternalTensor {
  /** The initializer's name. */
  tensor: string;
  /** `external_data.location` as written: relative to the folder of the .onnx file. */
  location: string;
  offset: number;
  /** Bytes; undefined when the file says none (the tensor's size then decides). */
  length: number | undefined;
}

// Field numbers from onnx.proto.
const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const TENSOR_NAME = 8;
const TENSOR_EXTERNAL_DATA = 13;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;
const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

const BLOCK = 64 * 1024;

/** Positional reads through one cached block: field headers are small and mostly close together. */
class BlockReader {
  private block = Buffer.alloc(0);
  private blockStart = -1;
  constructor(private readonly fh: FileHandle, readonly size: number) {}

  async byte(pos: number): Promise<number> {
    if (pos < this.blockStart || pos >= this.blockStart + this.block.length) {
      const buf = Buffer.alloc(Math.min(BLOCK, this.size - pos));
      const { bytesRead } = await this.fh.read(buf, 0, buf.length, pos);
      this.block = buf.subarray(0, bytesRead);
      this.blockStart = pos;
      if (bytesRead === 0) throw new Error(`the file ends at byte ${pos} inside a field`);
    }
    return this.block[pos - this.blockStart]!;
  }

  async bytes(pos: number, length: number): Promise<Buffer> {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await this.fh.read(buf, 0, length, pos);
    if (bytesRead !== length) throw new Error(`the file ends inside a ${length}-byte field at byte ${pos}`);
    return buf;
  }

  /** A varint at `pos`: its value (exact up to 2^53) and the position after it. */
  async varint(pos: number): Promise<[number, number]> {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = await this.byte(pos + i);
      value += (b & 0x7f) * scale;
      scale *= 128;
      if ((b & 0x80) === 0) return [value, pos + i + 1];
    }
    throw new Error(`a varint at byte ${pos} is longer than 10 bytes`);
  }
}

interface Field {
  number: number;
  wire: number;
  /** Start and end of a length-delimited field's payload; for other types, the value and the end. */
  start: number;
  end: number;
  value: number;
}

/** The fields of the message in [start, end), one after another. */
async function* fields(r: BlockReader, start: number, end: number): AsyncGenerator<Field> {
  let pos = start;
  while (pos < end) {
    const [tag, afterTag] = await r.varint(pos);
    const number = Math.floor(tag / 8);
    const wire = tag % 8;
    let field: Field;
    if (wire === WIRE_VARINT) {
      const [value, after] = await r.varint(afterTag);
      field = { number, wire, start: afterTag, end: after, value };
    } else if (wire === WIRE_LEN) {
      const [length, after] = await r.varint(afterTag);
      field = { number, wire, start: after, end: after + length, value: length };
    } else if (wire === WIRE_I64) field = { number, wire, start: afterTag, end: afterTag + 8, value: 0 };
    else if (wire === WIRE_I32) field = { number, wire, start: afterTag, end: afterTag + 4, value: 0 };
    else throw new Error(`field ${number} at byte ${pos} has wire type ${wire}, which ONNX files do not use`);
    if (field.end > end) throw new Error(`field ${number} at byte ${pos} runs past the end of its message (the file is cut short?)`);
    yield field;
    pos = field.end;
  }
}

async function text(r: BlockReader, f: Field): Promise<string> {
  return (await r.bytes(f.start, f.end - f.start)).toString('utf8');
}

async function externalEntry(r: BlockReader, f: Field): Promise<[string, string]> {
  let key = '';
  let value = '';
  for await (const e of fields(r, f.start, f.end)) {
    if (e.wire !== WIRE_LEN) continue;
    if (e.number === ENTRY_KEY) key = await text(r, e);
    else if (e.number === ENTRY_VALUE) value = await text(r, e);
  }
  return [key, value];
}

/** The initializers of `onnxFile` whose data is external, with where it is said to be. Throws on a malformed file. */
export async function listExternalData(onnxFile: string): Promise<ExternalTensor[]> {
  const fh = await open(onnxFile, 'r');
  try {
    const r = new BlockReader(fh, (await fh.stat()).size);
    const found: ExternalTensor[] = [];
    for await (const g of fields(r, 0, r.size)) {
      if (g.number !== MODEL_GRAPH || g.wire !== WIRE_LEN) continue;
      for await (const init of fields(r, g.start, g.end)) {
        if (init.number !== GRAPH_INITIALIZER || init.wire !== WIRE_LEN) continue;
        let tensor = '';
        const entries: Array<[string, string]> = [];
        for await (const t of fields(r, init.start, init.end)) {
          if (t.wire !== WIRE_LEN) continue;
          if (t.number === TENSOR_NAME) tensor = await text(r, t);
          else if (t.number === TENSOR_EXTERNAL_DATA) entries.push(await externalEntry(r, t));
        }
        const location = entries.find(([k]) => k === 'location')?.[1];
        if (location === undefined) continue;
        const num = (key: string): number | undefined => {
          const v = entries.find(([k]) => k === key)?.[1];
          return v === undefined ? undefined : Number(v);
        };
        found.push({ tensor, location, offset: num('offset') ?? 0, length: num('length') });
      }
    }
    return found;
  } finally {
    await fh.close();
  }
}

/**
 * Why the external data of `onnxFile` (inside `packageDir`) cannot be loaded, or undefined when it can: every
 * location is a relative path inside the package, the file exists, and offset + length fit in it. Files are named
 * relative to the package.
 */
export async function externalDataProblem(packageDir: string, onnxFile: string): Promise<string | undefined> {
  const rel = (p: string) => path.relative(packageDir, p).split(path.sep).join('/');
  let tensors: ExternalTensor[];
  try {
    tensors = await listExternalData(onnxFile);
  } catch {
    // Not a well-formed protobuf: onnxruntime's load reports that (the start-up check), as for any corrupt file.
    return undefined;
  }
  const sizes = new Map<string, number>();
  for (const t of tensors) {
    const target = path.resolve(path.dirname(onnxFile), t.location);
    if (path.isAbsolute(t.location) || !target.startsWith(path.resolve(packageDir) + path.sep)) {
      return `${rel(onnxFile)}: initializer "${t.tensor}" has its data at "${t.location}", outside the package; external data must be a relative path beside the .onnx file`;
    }
    if (!sizes.has(target)) {
      if (!existsSync(target)) return `${rel(onnxFile)}: initializer "${t.tensor}" has its data in ${rel(target)}, which is missing (external data must be copied with the .onnx file)`;
      sizes.set(target, (await stat(target)).size);
    }
    const size = sizes.get(target)!;
    if (!Number.isFinite(t.offset) || (t.length !== undefined && !Number.isFinite(t.length)) || t.offset + (t.length ?? 0) > size) {
      return `${rel(onnxFile)}: initializer "${t.tensor}" reads bytes ${t.offset}..${t.offset + (t.length ?? 0)} of ${rel(target)}, which has ${size} (the data file is cut short or belongs to another export)`;
    }
  }
  return undefined;
}
