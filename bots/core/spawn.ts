// A new message beside a job's own, for a clip that one of its buttons (reroll, variations, refine, extend) or a
// follow-up makes. Its own module so that each action's module can use it without importing the others.
import type { JobSurface, Requester, SpawnReason } from './adapter.ts';
import { toBotError } from './errors.ts';
import type { JobRecord } from './jobs.ts';

/** The new surface; a failure becomes a BotError for the actor. */
export async function spawnFrom(job: JobRecord, reason: SpawnReason, label: string, actor: Requester): Promise<JobSurface> {
  try {
    return await job.surface.spawn({ reason, label, requester: actor });
  } catch (err) {
    throw toBotError(err, 'Could not post a new message for this clip here.');
  }
}
