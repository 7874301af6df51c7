// bfloat16 at a graph's edges, converted at the boundary. Wan2.x checkpoints are bf16, and an export may keep bf16
// inputs and outputs; onnxruntime-node (1.30) cannot feed or read a bf16 tensor ("Unsupported data type: 16" when the
// session is created), though its kernels run bf16 inside a graph (Cast on the CPU; the rest on CUDA). So the daemon
// rewrites such a graph before onnxruntime sees it: each bf16 input becomes float32 followed by a Cast to bf16, each
// bf16 output a Cast back to float32, and the graph is otherwise byte for byte the exported one. The values the
// daemon feeds are rounded to bf16 inside the graph exactly as a bf16 feed would have been (round to nearest even).
//
// Only ModelProto.graph (7) → GraphProto.node (1), input (11), output (12), value_info (13) and the names in nodes
// (NodeProto input 1, output 2, attribute 5 → subgraphs g 6 / graphs 11, whose nodes may name an outer tensor) are
// read; every other field is copied untouched. Initializers (weights, possibly external data) are never touched.
import path from 'node:path';
import { encodeVarint, fields, header, WIRE, type Field } from './protobuf-wire.ts';
import { ONNX_BFLOAT16, ONNX_FLOAT, readOnnxFile } from './lora/onnx-initializers.ts';

const MODEL = { graph: 7 } as const;
const GRAPH = { node: 1, initializer: 5, input: 11, output: 12, valueInfo: 13 } as const;
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5 } as const;
const ATTRIBUTE = { name: 1, i: 3, g: 6, graphs: 11, type: 20 } as const;
const VALUE_INFO = { name: 1, type: 2 } as const;
const TYPE = { tensor: 1 } as const;
const TENSOR_TYPE = { elemType: 1 } as const;
const TENSOR_NAME = 8;
const ATTRIBUTE_INT = 2;

/** How every conversion failure begins, so the loader tells it from a failure of the converted graph. */
export const CANNOT_CONVERT = 'cannot convert the bfloat16 edges';

/** The graph's bf16 inputs and outputs, by name (fed inputs only: an input that is also an initializer is a weight). */
export interface Bf16Edges {
  inputs: string[];
  outputs: string[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();
const text = (b: Uint8Array, f: Field) => utf8.decode(b.subarray(f.start, f.end));

function only(b: Uint8Array, start: number, end: number, number: number): Field | undefined {
  let found: Field | undefined;
  for (const f of fields(b, start, end)) if (f.number === number) found = f;
  return found;
}

/** A ValueInfoProto's name and its tensor element type field (undefined for a non-tensor or an unset type). */
function valueInfo(b: Uint8Array, f: Field): { name: string; elemType: number | undefined } {
  const name = only(b, f.start, f.end, VALUE_INFO.name);
  const type = only(b, f.start, f.end, VALUE_INFO.type);
  const tensor = type && only(b, type.start, type.end, TYPE.tensor);
  const elem = tensor && only(b, tensor.start, tensor.end, TENSOR_TYPE.elemType);
  return { name: name ? text(b, name) : '', elemType: elem?.wire === WIRE.varint ? elem.value : undefined };
}

function graphOf(b: Uint8Array): Field {
  const graph = only(b, 0, b.length, MODEL.graph);
  if (!graph || graph.wire !== WIRE.len) throw new Error(`${CANNOT_CONVERT}: the file holds no graph (ModelProto.graph)`);
  return graph;
}

/** The bf16 inputs and outputs of the model in `bytes` (empty lists for most graphs). */
export function findBf16Edges(bytes: Uint8Array): Bf16Edges {
  const graph = graphOf(bytes);
  const weights = new Set<string>();
  const inputs: string[] = [];
  const outputs: string[] = [];
  for (const f of fields(bytes, graph.start, graph.end)) {
    if (f.number === GRAPH.initializer) {
      const name = only(bytes, f.start, f.end, TENSOR_NAME);
      if (name) weights.add(text(bytes, name));
    } else if (f.number === GRAPH.input || f.number === GRAPH.output) {
      const info = valueInfo(bytes, f);
      if (info.elemType === ONNX_BFLOAT16) (f.number === GRAPH.input ? inputs : outputs).push(info.name);
    }
  }
  return { inputs: inputs.filter((n) => !weights.has(n)), outputs };
}

// ------------------------------------------------------------------------------------------------------- encoding

function lenField(number: number, parts: readonly Uint8Array[]): Uint8Array[] {
  const length = parts.reduce((n, p) => n + p.length, 0);
  return [header(number, length), ...parts];
}

function varintField(number: number, value: number): Uint8Array {
  const out: number[] = [];
  encodeVarint(number * 8 + WIRE.varint, out);
  encodeVarint(value, out);
  return Uint8Array.from(out);
}

const stringField = (number: number, s: string) => concat(lenField(number, [encoder.encode(s)]));

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A NodeProto Cast(input) → output to `to`. */
function castNode(input: string, output: string, to: number, name: string): Uint8Array {
  const attribute = concat([stringField(ATTRIBUTE.name, 'to'), varintField(ATTRIBUTE.i, to), varintField(ATTRIBUTE.type, ATTRIBUTE_INT)]);
  return concat([stringField(NODE.input, input), stringField(NODE.output, output), stringField(NODE.name, name), stringField(NODE.opType, 'Cast'), ...lenField(NODE.attribute, [attribute])]);
}

/** A ValueInfoProto (or a TypeProto chain inside it) with its tensor elem_type set to `elemType`; the rest as it was. */
function retyped(b: Uint8Array, start: number, end: number, path: readonly number[], elemType: number): Uint8Array {
  const [head, ...rest] = path;
  const parts: Uint8Array[] = [];
  for (const f of fields(b, start, end)) {
    if (f.number !== head) parts.push(b.subarray(f.tagStart, f.end));
    else if (rest.length === 0) parts.push(varintField(head, elemType));
    else parts.push(...lenField(head, [retyped(b, f.start, f.end, rest, elemType)]));
  }
  return concat(parts);
}

/** A graph's nodes with every name in `renames` replaced in their inputs and outputs, subgraphs included. */
function renamedGraph(b: Uint8Array, start: number, end: number, renames: ReadonlyMap<string, string>, topLevel: boolean): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (const f of fields(b, start, end)) {
    if (f.number === GRAPH.node) parts.push(...lenField(GRAPH.node, [renamedNode(b, f, renames)]));
    else if (topLevel && f.number === GRAPH.valueInfo) {
      // Shapes and types recorded for the renamed tensors move with them (they stay bf16).
      const info = valueInfo(b, f);
      const to = renames.get(info.name);
      parts.push(to === undefined ? b.subarray(f.tagStart, f.end) : concat(lenField(GRAPH.valueInfo, [renamedValueInfo(b, f, to)])));
    } else parts.push(b.subarray(f.tagStart, f.end));
  }
  return parts;
}

function renamedValueInfo(b: Uint8Array, f: Field, name: string): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const g of fields(b, f.start, f.end)) parts.push(g.number === VALUE_INFO.name ? stringField(VALUE_INFO.name, name) : b.subarray(g.tagStart, g.end));
  return concat(parts);
}

function renamedNode(b: Uint8Array, node: Field, renames: ReadonlyMap<string, string>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of fields(b, node.start, node.end)) {
    if (f.number === NODE.input || f.number === NODE.output) {
      const to = renames.get(text(b, f));
      parts.push(to === undefined ? b.subarray(f.tagStart, f.end) : stringField(f.number, to));
    } else if (f.number === NODE.attribute) {
      parts.push(...lenField(NODE.attribute, [renamedAttribute(b, f, renames)]));
    } else parts.push(b.subarray(f.tagStart, f.end));
  }
  return concat(parts);
}

function renamedAttribute(b: Uint8Array, attribute: Field, renames: ReadonlyMap<string, string>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of fields(b, attribute.start, attribute.end)) {
    // A subgraph (If, Loop, Scan) may use a tensor of the outer graph by name.
    if (f.number === ATTRIBUTE.g || f.number === ATTRIBUTE.graphs) parts.push(...lenField(f.number, renamedGraph(b, f.start, f.end, renames, false)));
    else parts.push(b.subarray(f.tagStart, f.end));
  }
  return concat(parts);
}

/** Every tensor name the graph uses (inputs, outputs, initializers, node ends), to keep new names unique. */
function namesIn(b: Uint8Array, start: number, end: number, into: Set<string>): Set<string> {
  for (const f of fields(b, start, end)) {
    if (f.number === GRAPH.input || f.number === GRAPH.output || f.number === GRAPH.valueInfo) into.add(valueInfo(b, f).name);
    else if (f.number === GRAPH.initializer) {
      const name = only(b, f.start, f.end, TENSOR_NAME);
      if (name) into.add(text(b, name));
    } else if (f.number === GRAPH.node) {
      for (const g of fields(b, f.start, f.end)) if (g.number === NODE.input || g.number === NODE.output) into.add(text(b, g));
    }
  }
  return into;
}

/**
 * The model with float32 in place of each bf16 input and output and a Cast inside at each; `bytes` itself when it
 * has none. Throws (a plain Error naming the tensor) for a graph whose input is passed straight out as an output.
 */
export function convertBf16Edges(bytes: Uint8Array): Uint8Array {
  const edges = findBf16Edges(bytes);
  if (edges.inputs.length === 0 && edges.outputs.length === 0) return bytes;
  const both = edges.inputs.find((n) => edges.outputs.includes(n));
  if (both !== undefined) throw new Error(`${CANNOT_CONVERT}: "${both}" is both a bfloat16 input and output of the graph; put an Identity between them`);
  const graph = graphOf(bytes);
  const taken = namesIn(bytes, graph.start, graph.end, new Set());
  const fresh = (name: string) => {
    let candidate = `${name}__bf16`;
    for (let k = 2; taken.has(candidate); k++) candidate = `${name}__bf16_${k}`;
    taken.add(candidate);
    return candidate;
  };
  const renames = new Map<string, string>([...edges.inputs, ...edges.outputs].map((n) => [n, fresh(n)]));
  const inputSet = new Set(edges.inputs);
  const outputSet = new Set(edges.outputs);

  // The graph: Casts from the new float32 inputs first (nodes are in topological order), the exported nodes with the
  // edge names replaced, the Casts to the float32 outputs last; inputs and outputs retyped, all else as it was.
  const parts: Uint8Array[] = [];
  for (const name of edges.inputs) parts.push(...lenField(GRAPH.node, [castNode(name, renames.get(name)!, ONNX_BFLOAT16, `${renames.get(name)!}_cast`)]));
  for (const f of fields(bytes, graph.start, graph.end)) {
    if (f.number === GRAPH.input || f.number === GRAPH.output) {
      const { name } = valueInfo(bytes, f);
      const edge = f.number === GRAPH.input ? inputSet.has(name) : outputSet.has(name);
      parts.push(edge ? concat(lenField(f.number, [retyped(bytes, f.start, f.end, [VALUE_INFO.type, TYPE.tensor, TENSOR_TYPE.elemType], ONNX_FLOAT)])) : bytes.subarray(f.tagStart, f.end));
    } else parts.push(...renamedGraph(bytes, f.tagStart, f.end, renames, true));
  }
  for (const name of edges.outputs) parts.push(...lenField(GRAPH.node, [castNode(renames.get(name)!, name, ONNX_FLOAT, `${renames.get(name)!}_cast`)]));

  const model: Uint8Array[] = [];
  for (const f of fields(bytes, 0, bytes.length)) {
    if (f.number === MODEL.graph) model.push(...lenField(MODEL.graph, parts));
    else model.push(bytes.subarray(f.tagStart, f.end));
  }
  return concat(model);
}

/**
 * A graph to load with its bf16 edges converted: read and converted in the onnxruntime worker (off the event loop),
 * then created from bytes with onnxruntime's external-initializer folder set to the file's own, so external data
 * (every real Wan2.x transformer: protobuf stops at 2 GB) is read from beside the original. Nothing is written.
 */
export interface Bf16EdgeSource {
  bf16Edges: { file: string; label: string };
}

export function isBf16EdgeSource(value: unknown): value is Bf16EdgeSource {
  return typeof value === 'object' && value !== null && 'bf16Edges' in value;
}

/** The converted graph's bytes and the folder its external data is read from. */
export async function buildBf16EdgeModel({ bf16Edges }: Bf16EdgeSource): Promise<{ bytes: Uint8Array; externalDataFolder: string }> {
  const bytes = await readOnnxFile(bf16Edges.file, bf16Edges.label);
  let converted: Uint8Array;
  try {
    converted = convertBf16Edges(bytes);
  } catch (err) {
    // A malformed protobuf (the walker's own errors) is a failed conversion too.
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(message.startsWith(CANNOT_CONVERT) ? message : `${CANNOT_CONVERT}: ${message}`);
  }
  return { bytes: converted, externalDataFolder: path.dirname(bf16Edges.file) };
}
