// Requests whose bytes do not decode: the daemon answers INVALID_ARGUMENT naming the field (grpc-js alone would say
// INTERNAL "Error deserializing request"), through the same capped status path, and keeps serving.
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestTypeOf, undecodableField } from '../../inference/server/undecodable-field.ts';
import { encodeFields, rawClient, rawServerStream, rawUnary } from '../../tools/faults/wire.ts';
import { collect, startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';
import { DaemonErrorCode, ERROR_CODE_TRAILER } from '../../shared/wire/error-codes.ts';

const generate = requestTypeOf('/animate.v1.Animator/Generate')!;
const prompt = { no: 1, wire: 'bytes', value: 'a red ball' } as const;

describe('undecodableField', () => {
  it('names the top-level, nested and mistyped fields, and nothing for a fault before any known field', () => {
    expect(generate.fullName).toBe('.animate.v1.GenerateRequest');
    // preview.max_side (field 3 of PreviewOptions, uint32) sent as a length-delimited string.
    expect(undecodableField(generate, encodeFields([prompt, { no: 13, wire: 'message', value: [{ no: 3, wire: 'bytes', value: 'big' }] }]))).toBe('preview.max_side');
    // steps (field 4, uint32) sent as fixed64.
    expect(undecodableField(generate, encodeFields([prompt, { no: 4, wire: 'fixed64', value: 1n }]))).toBe('steps');
    // requester whose bytes start with an invalid wire type (6) on a field number it does not have: the requester.
    expect(undecodableField(generate, encodeFields([prompt, { no: 15, wire: 'bytes', value: Buffer.from([(15 << 3) | 6, 0x01]) }]))).toBe('requester');
    // ...and on its user_id: named down to the field.
    expect(undecodableField(generate, encodeFields([prompt, { no: 15, wire: 'bytes', value: Buffer.from([(1 << 3) | 6, 0x01]) }]))).toBe('requester.user_id');
    // a declared length past the end of the message, on the prompt.
    expect(undecodableField(generate, Buffer.from([(1 << 3) | 2, 0x7f, 0x61]))).toBe('prompt');
    // formats packed (allowed) decodes: no fault.
    expect(undecodableField(generate, encodeFields([prompt, { no: 12, wire: 'bytes', value: Buffer.from([1, 2]) }]))).toBeUndefined();
    // an invalid wire type on an unknown field number: no field to name.
    expect(undecodableField(generate, Buffer.from([0x9f, 0x06, 0x01]) /* tag 99 << 3 | 7 as a varint */)).toBeUndefined();
  });
});

describe('undecodable requests on a real daemon', () => {
  let fx: FixtureDaemon;
  beforeAll(async () => {
    fx = await startFixtureDaemon();
  });
  afterAll(async () => {
    await fx.close();
  });

  it('Generate, Cancel, ListModels and health each get INVALID_ARGUMENT with the field, and the daemon keeps serving', async () => {
    const client = rawClient(fx.daemon.address);
    try {
      // preview.max_side with wire type 7 and no bytes after it: the daemon's decoder throws.
      const gen = await rawServerStream(client, '/animate.v1.Animator/Generate', encodeFields([prompt, { no: 13, wire: 'bytes', value: Buffer.from([(3 << 3) | 7]) }]), { deadlineMs: 10_000 });
      expect(gen.code).toBe(status.INVALID_ARGUMENT);
      expect(gen.details).toMatch(/^preview\.max_side: its bytes do not decode/);
      expect(Buffer.byteLength(gen.details)).toBeLessThanOrEqual(1024);
      expect(gen.metadata?.get(ERROR_CODE_TRAILER)).toEqual([DaemonErrorCode.InvalidArgument]);

      const cancel = await rawUnary(client, '/animate.v1.Animator/Cancel', Buffer.from([(2 << 3) | 7]), { deadlineMs: 10_000 });
      expect(cancel.code).toBe(status.INVALID_ARGUMENT);
      expect(cancel.details).toMatch(/^reason: /);

      const list = await rawUnary(client, '/animate.v1.Animator/ListModels', Buffer.from([0xff, 0xff, 0xff]), { deadlineMs: 10_000 });
      expect(list.code).toBe(status.INVALID_ARGUMENT);
      expect(list.details).toMatch(/^request: the ListModels request could not be decoded/);

      const health = await rawUnary(client, '/grpc.health.v1.Health/Check', Buffer.from([(1 << 3) | 7]), { deadlineMs: 10_000 });
      expect(health.code).toBe(status.INVALID_ARGUMENT);
      expect(health.details).toMatch(/^service: /);
    } finally {
      client.close();
    }
    // Same daemon, a normal request: served.
    const events = await collect(fx.client.generate({ prompt: 'a red ball', steps: 2, seed: 1, preview: { disabled: true } }));
    expect(events.some((e) => e.done)).toBe(true);
  });

  it('a 1 MiB unknown health service name gets a short NOT_FOUND and the connection keeps answering', async () => {
    const client = rawClient(fx.daemon.address);
    try {
      const huge = await rawUnary(client, '/grpc.health.v1.Health/Check', encodeFields([{ no: 1, wire: 'bytes', value: 's'.repeat(1024 * 1024) }]), { deadlineMs: 10_000 });
      expect(huge.code).toBe(status.NOT_FOUND);
      expect(huge.details).toMatch(/^unknown service "s+… \(1048576 characters\)"/);
      expect(Buffer.byteLength(huge.details)).toBeLessThanOrEqual(1024);
      const again = await rawUnary(client, '/grpc.health.v1.Health/Check', Buffer.alloc(0), { deadlineMs: 10_000 });
      expect(again.code).toBe(status.OK);
    } finally {
      client.close();
    }
  });
});
