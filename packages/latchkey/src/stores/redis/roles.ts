/**
 * The roles a Redis session value carries (a copy of its user's, so a role check costs no
 * second read) kept equal to the durable store's, which alone decides them.
 */
import type { Stores } from "../../core/ports.js";
import type { UserProfile } from "../../core/records.js";
import type { RedisLink } from "./client.js";
import * as lua from "./scripts.js";
import { compactUserId } from "./session-codec.js";

/** Rounds of read-and-rewrite before giving up on a user whose roles keep changing. */
const MAX_ROUNDS = 5;

/** What a copy is compared by. */
const stampOf = (user: Pick<UserProfile, "roles" | "rolesAt">): string => `${user.rolesAt}|${user.roles.join(",")}`;

/**
 * Copies a user's current roles into their sessions: all of them (after a role change), or
 * one just created with `written` (the user as read before it was stored).
 *
 * Writes and copies race: two role changes of one user, or a login that read the user
 * before a change and stores its session after the change's copy. So each caller reads the
 * user again after its rewrite, and rewrites again until what it read is what it wrote.
 * The last rewrite of any session is then followed by a read that matched it, and a change
 * committed after that read is copied by its own writer afterwards: the copies end equal
 * to the store.
 *
 * @example
 * const copyRoles = rolesCopier(link, "lk:", base);
 * if (typeof (await base.users.setRoles(id, ["admin", "user"], now)) === "number") await copyRoles(id);
 */
export function rolesCopier(
  link: RedisLink,
  prefix: string,
  base: Stores,
): (userId: string, one?: { sessionId: string; written: UserProfile }) => Promise<void> {
  return async (userId, one) => {
    let written = one ? stampOf(one.written) : undefined;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const user = await base.users.findById(userId);
      if (!user) return;
      const stamp = stampOf(user);
      if (stamp === written) return;
      const args = [prefix, compactUserId(userId), one?.sessionId ?? "", user.rolesAt, ...user.roles];
      const index = `${prefix}${lua.USER_INDEX_KEY}${compactUserId(userId)}`;
      await link.commit((w) => w.eval(lua.SET_ROLES, 1, index, ...args));
      written = stamp;
    }
  };
}
