// A request the core will not start (filtered, over a limit, bad options, shutting down): shown on the person's
// surface with fail() and returned as an AnimateResult with no jobs, so every entry point refuses the same way.
import type { JobSurface } from './adapter.ts';
import type { AnimateResult } from './api.ts';
import type { BotError } from './errors.ts';
import type { Logger } from './logger.ts';

export async function refuse(surface: JobSurface, error: BotError, logger: Logger): Promise<AnimateResult> {
  try {
    await surface.fail(error);
  } catch (err) {
    logger.error('could not show a refusal', err);
  }
  return { jobs: [], finished: Promise.resolve([]), error };
}
