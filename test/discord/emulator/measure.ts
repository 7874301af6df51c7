// Figures for the Discord front-end against the emulator and a fixture daemon (not a test: prints numbers).
//   npx tsx test/discord/emulator/measure.ts [runs]
import { startDiscordHarness } from './harness.ts';
import { isClipMessage } from './harness.ts';

const runs = Number(process.argv[2] ?? 5);
const h = await startDiscordHarness({ plugin: { updateIntervalMs: 1200 } });
const rows: Array<Record<string, number>> = [];
try {
  for (let i = 0; i < runs; i++) {
    const interaction = h.slash(h.discord.users.alice, { prompt: 'a red ball bounces', seed: i, steps: 20, model: 'slow' });
    const threadId = await h.discord.waitFor(() => h.discord.originalMessage(interaction)?.threadId, 60_000, 'thread');
    const clip = await h.waitForClip(threadId);
    const status = h.discord.originalMessage(interaction)!;
    await h.discord.waitFor(() => status.content.includes('✅ Done'), 10_000, 'done');
    const firstPreview = status.revisions.find((r) => r.attachments.some((a) => a.startsWith('preview')));
    const edits = status.revisions.slice(1);
    const gaps = edits.slice(1).map((r, k) => r.at - edits[k]!.at);
    rows.push({
      ackMs: (interaction.acknowledgedAt ?? NaN) - interaction.createdAt,
      firstPreviewMs: (firstPreview?.at ?? NaN) - interaction.createdAt,
      clipMs: clip.createdAt - interaction.createdAt,
      edits: edits.length,
      previewEdits: status.revisions.filter((r) => r.attachments.some((a) => a.startsWith('preview'))).length,
      minEditGapMs: Math.min(...gaps),
      clipBytes: clip.attachments.find((a) => isClipMessage(clip) && a.filename.endsWith('.mp4'))?.size ?? NaN,
    });
  }
  console.table(rows);
  const median = (k: string) => rows.map((r) => r[k]!).sort((a, b) => a - b)[Math.floor(rows.length / 2)];
  console.log(`median ack ${median('ackMs')} ms, first preview ${median('firstPreviewMs')} ms, clip ${median('clipMs')} ms, min gap between edits ${Math.min(...rows.map((r) => r.minEditGapMs!))} ms`);
} finally {
  await h.close();
}
