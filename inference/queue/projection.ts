// The order in which waiting jobs will start, computed in one pass instead of by simulating every pick.
//
// The fair choice (FairScheduler.pickLine) takes the requester with the fewest running jobs, ties to whoever was
// served least recently (never served: whoever came first). Simulated pick by pick, with each pick counted as
// running, that is O(jobs x requesters): 2,000 queued jobs made it a 7 s stall. It has a closed form: a requester
// with r running has its i-th waiting job (0-based) at "level" r + i; all jobs of level L start before any of level
// L + 1, and within one level requesters go by (running descending, last served ascending, arrival ascending).
// So one sort of the requesters and a bucket pass over the jobs give the whole order: O(jobs + requesters log
// requesters). test/daemon/fair-scheduler.test.ts checks this against the pick-by-pick simulation on random states.

export interface OwnerLine<T> {
  /** Jobs of this requester running now. */
  running: number;
  /** Stamp of the last time one of its jobs started (higher = more recent); -1 if never. */
  served: number;
  /** When this requester's line was opened: breaks ties between requesters never served. */
  arrival: number;
  /** Its waiting jobs, oldest first. */
  waiting: readonly T[];
}

/** Which of two requesters goes first within one level (negative: a). */
function compareOwners(a: Pick<OwnerLine<unknown>, 'running' | 'served' | 'arrival'>, b: Pick<OwnerLine<unknown>, 'running' | 'served' | 'arrival'>): number {
  return b.running - a.running || a.served - b.served || a.arrival - b.arrival;
}

/** All waiting jobs in the order they will start, if no running job ends first. */
export function projectOrder<T>(lines: Iterable<OwnerLine<T>>): T[] {
  const owners = [...lines].filter((l) => l.waiting.length > 0).sort(compareOwners);
  const levels: T[][] = [];
  let total = 0;
  for (const line of owners) {
    for (let i = 0; i < line.waiting.length; i++) (levels[line.running + i] ??= []).push(line.waiting[i]!);
    total += line.waiting.length;
  }
  const order: T[] = new Array<T>(total);
  let n = 0;
  for (const level of levels) if (level) for (const job of level) order[n++] = job;
  return order;
}

/**
 * The place in line (1 = next) a new job of `candidate` would get, behind its own waiting jobs, without building the
 * order: O(requesters). `candidate` is the requester's own line if it has one (it must be among `lines` then);
 * a requester with none waiting passes its running count and served stamp with arrival after every open line.
 */
export function positionIfAdded<T>(lines: Iterable<OwnerLine<T>>, candidate: Pick<OwnerLine<T>, 'running' | 'served' | 'arrival'> & { waitingCount: number }, self?: OwnerLine<T>): number {
  const level = candidate.running + candidate.waitingCount;
  let ahead = candidate.waitingCount;
  for (const line of lines) {
    if (line === self) continue;
    const w = line.waiting.length;
    if (w === 0) continue;
    ahead += Math.min(w, Math.max(0, level - line.running));
    const hasJobAtLevel = line.running <= level && level < line.running + w;
    if (hasJobAtLevel && compareOwners(line, candidate) < 0) ahead++;
  }
  return ahead + 1;
}
