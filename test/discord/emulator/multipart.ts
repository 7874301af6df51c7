// Request bodies as discord.js sends them: JSON, or multipart/form-data with `payload_json` and `files[n]` parts.
export interface UploadedFile {
  /** The form field, e.g. `files[0]`; the index matches the payload's attachments[].id. */
  field: string;
  index: number;
  filename: string;
  contentType: string;
  data: Buffer;
}

export interface ParsedBody {
  json: Record<string, unknown> | undefined;
  files: UploadedFile[];
}

export async function parseBody(contentType: string | undefined, raw: Buffer): Promise<ParsedBody> {
  if (raw.length === 0) return { json: undefined, files: [] };
  if (contentType?.startsWith('multipart/form-data')) {
    // The platform's own multipart parser (undici's Request.formData), so boundaries and encodings are handled exactly.
    const form = await new Request('http://emulator.invalid/', { method: 'POST', headers: { 'content-type': contentType }, body: new Uint8Array(raw) }).formData();
    const files: UploadedFile[] = [];
    let json: Record<string, unknown> | undefined;
    const entries: Array<[string, FormDataEntryValue]> = [];
    form.forEach((value, field) => entries.push([field, value]));
    for (const [field, value] of entries) {
      if (typeof value === 'string') {
        if (field === 'payload_json') json = JSON.parse(value) as Record<string, unknown>;
        continue;
      }
      const match = /^files\[(\d+)\]$/.exec(field) ?? /^file(\d*)$/.exec(field);
      const index = match?.[1] ? Number(match[1]) : files.length;
      files.push({ field, index, filename: value.name, contentType: value.type || 'application/octet-stream', data: Buffer.from(await value.arrayBuffer()) });
    }
    return { json, files };
  }
  const text = raw.toString('utf8');
  return { json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined, files: [] };
}
