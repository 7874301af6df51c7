// Slack retries an event it did not see acked within 3 s (X-Slack-Retry-Num), and a person may double-submit.
// Whatever key identifies a request (event_id, trigger_id) is remembered for a while, and a request seen
// before is acknowledged but never starts a second generation. The daemon dedupes by request_id as well.
export class RecentKeys {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly ttlMs = 60 * 60_000,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 10_000,
  ) {}

  /** True the first time a key is seen (within the TTL); false for a repeat. */
  firstTime(key: string): boolean {
    const now = this.now();
    this.evict(now);
    const at = this.seen.get(key);
    if (at !== undefined && now - at < this.ttlMs) return false;
    this.seen.set(key, now);
    return true;
  }

  private evict(now: number): void {
    for (const [key, at] of this.seen) {
      if (now - at < this.ttlMs && this.seen.size <= this.maxEntries) break; // Map keeps insertion order: oldest first
      this.seen.delete(key);
    }
  }
}
