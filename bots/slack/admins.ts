// Who may cancel anyone's job in Slack: the configured admin user ids, and workspace admins and owners as users.info
// reports them (cached for ADMIN_CACHE_MS, since a button press should not wait on an API call each time).
import type { WebClient } from '@slack/web-api';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';

/** How long a users.info answer is reused. */
export const ADMIN_CACHE_MS = 10 * 60_000;

export class SlackAdmins {
  private readonly configured: ReadonlySet<string>;
  private readonly cache = new Map<string, { at: number; admin: boolean }>();

  constructor(
    adminUserIds: readonly string[],
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.configured = new Set(adminUserIds);
  }

  /** False when users.info fails (logged): a moderator power is never granted on an error. */
  async isAdmin(client: WebClient, userId: string): Promise<boolean> {
    if (this.configured.has(userId)) return true;
    const cached = this.cache.get(userId);
    if (cached && this.clock.now() - cached.at < ADMIN_CACHE_MS) return cached.admin;
    try {
      const info = await client.users.info({ user: userId });
      const admin = Boolean(info.user?.is_admin || info.user?.is_owner || info.user?.is_primary_owner);
      this.cache.set(userId, { at: this.clock.now(), admin });
      return admin;
    } catch (err) {
      this.logger.warn('slack: users.info failed; treating the user as not an admin', err);
      return false;
    }
  }
}
