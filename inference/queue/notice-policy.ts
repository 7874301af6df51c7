// When a change of a waiting job's place in line is worth a Queued event. Near the front every step counts (the
// person is about to start); far back, "position 1,734" and "1,733" say the same thing, so only a move by a fraction
// of the place is told. Improvements then shrink the place geometrically: from 2,000 to the front takes about
// log(2000 / exactUpTo) / log(1 / (1 - relativeStep)) + exactUpTo notices (34 with the defaults), however long the wait.

export interface NoticePolicy {
  /** Places up to this one are told exactly whenever they change. */
  exactUpTo: number;
  /** Further back, a change is told once it moves the place by at least this fraction of the place last told. */
  relativeStep: number;
}

export function worthTelling(lastTold: number, position: number, policy: NoticePolicy): boolean {
  if (position === lastTold) return false;
  if (position <= policy.exactUpTo || lastTold <= policy.exactUpTo) return true;
  return Math.abs(position - lastTold) >= lastTold * policy.relativeStep;
}
