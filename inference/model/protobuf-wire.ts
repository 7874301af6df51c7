// The protobuf wire format, as much of it as reading and rewriting ONNX files needs (no ONNX or protobuf library:
// the files can be 2 GB and only a few fields are touched). A field is its number, wire type and byte range, so an
// untouched field is copied as it was; a rewritten message is re-encoded from its parts. Used by the LoRA merge
// (lora/onnx-initializers.ts: initializers) and the bfloat16 edge conversion (bf16-edges.ts: inputs, outputs, nodes).

export const WIRE = { varint: 0, i64: 1, len: 2, i32: 5 } as const;

export interface Field {
  number: number;
  wire: number;
  /** Where the field's tag starts: [tagStart, end) is the whole field, copied as is when untouched. */
  tagStart: number;
  start: number;
  end: number;
  value: number;
}

export function varint(buf: Uint8Array, pos: number, limit: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= limit) throw new Error(`a varint at byte ${pos} runs past its message`);
    const b = buf[pos + i]!;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return [value, pos + i + 1];
  }
  throw new Error(`a varint at byte ${pos} is longer than 10 bytes`);
}

export function* fields(buf: Uint8Array, start: number, end: number): Generator<Field> {
  let pos = start;
  while (pos < end) {
    const tagStart = pos;
    const [tag, afterTag] = varint(buf, pos, end);
    const number = Math.floor(tag / 8);
    const wire = tag % 8;
    let field: Field;
    if (wire === WIRE.varint) {
      const [value, after] = varint(buf, afterTag, end);
      field = { number, wire, tagStart, start: afterTag, end: after, value };
    } else if (wire === WIRE.len) {
      const [length, after] = varint(buf, afterTag, end);
      field = { number, wire, tagStart, start: after, end: after + length, value: length };
    } else if (wire === WIRE.i64) field = { number, wire, tagStart, start: afterTag, end: afterTag + 8, value: 0 };
    else if (wire === WIRE.i32) field = { number, wire, tagStart, start: afterTag, end: afterTag + 4, value: 0 };
    else throw new Error(`field ${number} at byte ${tagStart} has wire type ${wire}, which ONNX files do not use`);
    if (field.end > end) throw new Error(`field ${number} at byte ${tagStart} runs past the end of its message (the file is cut short?)`);
    yield field;
    pos = field.end;
  }
}

export function encodeVarint(value: number, out: number[]): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

/** A length-delimited field's tag and length (its payload follows). */
export function header(number: number, length: number): Uint8Array {
  const out: number[] = [];
  encodeVarint(number * 8 + WIRE.len, out);
  encodeVarint(length, out);
  return Uint8Array.from(out);
}

