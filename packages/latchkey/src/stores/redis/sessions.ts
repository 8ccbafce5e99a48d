/** The Redis `SessionStore`: one key per session, and a set per user of their session ids. */

import { Cluster } from "ioredis";
import { AuthError } from "../../core/errors.js";
import type { SessionStore, Stores } from "../../core/ports.js";
import type { SessionRecord } from "../../core/records.js";
import type { RedisClient, RedisLink } from "./client.js";
import { rolesCopier } from "./roles.js";
import * as lua from "./scripts.js";
import { compactUserId, packSession, sessionKeys, unpackSession } from "./session-codec.js";
import { disabledMarker, evalBuffer } from "./util.js";

export const isLive = (s: SessionRecord, now: number) => now < s.idleExpiresAt && now < s.expiresAt;

/**
 * Which writes go through `link.commit` (must outlive a failover): all but `touch`, whose
 * loss only makes a session's idle expiry come sooner.
 */
export function sessionStore(link: RedisLink, p: string, base: Stores): SessionStore {
  const { client: redis, commit } = link;
  const { session: key, userIndex } = sessionKeys(p);
  const copyRoles = rolesCopier(link, p, base);
  return {
    async create(session) {
      // The user's public fields ride along, so a lookup is one read.
      const user = await base.users.findById(session.userId);
      if (!user) throw new Error("no such user");
      const created = await commit((w) =>
        w.eval(
          lua.CREATE_SESSION,
          2,
          key(session.id),
          userIndex(session.userId),
          Buffer.from(packSession(session, user)) as unknown as string,
          session.idleExpiresAt,
          session.expiresAt,
          session.id,
          disabledMarker(p, session.userId),
        ),
      );
      if (created !== 1) throw new AuthError("account_disabled", "This account has been disabled.");
      // A role change between the read above and the write missed this session: copy it now.
      await copyRoles(session.userId, { sessionId: session.id, written: user });
    },
    async findWithUser(id) {
      const packed = await redis.getBuffer(key(id));
      return packed ? unpackSession(id, packed) : null;
    },
    async touch(id, lastSeenAt, idleExpiresAt) {
      return (await redis.eval(lua.TOUCH, 1, key(id), lastSeenAt, idleExpiresAt)) === 1;
    },
    async replaceSecret(id, secretHash, at) {
      return (await commit((w) => w.eval(lua.REPLACE_SECRET, 1, key(id), secretHash, at))) === 1;
    },
    async renewSecret(id, expectedHash, { secretHash, at, lastSeenAt, idleExpiresAt }) {
      const args = [expectedHash, secretHash, at, lastSeenAt, idleExpiresAt];
      return (await commit((w) => w.eval(lua.RENEW_SECRET, 1, key(id), ...args))) === 1;
    },
    async reauthenticate(id, at, amr) {
      return (await commit((w) => w.eval(lua.REAUTHENTICATE, 1, key(id), at, ...amr))) === 1;
    },
    async delete(id) {
      const packed = await commit((w) => evalBuffer(w, lua.DELETE_SESSION, [key(id)], p, id));
      return packed ? unpackSession(id, packed).session : null;
    },
    async deleteByUser(userId, exceptId) {
      const args = [p, compactUserId(userId), exceptId ?? ""];
      return (await commit((w) => w.eval(lua.DELETE_USER_SESSIONS, 1, userIndex(userId), ...args))) as string[];
    },
    async listLive(now, userId) {
      const ids = userId !== undefined ? await redis.hkeys(userIndex(userId)) : await scanIds(redis, key("*"), key(""));
      const replies = ids.length > 0 ? await redis.mgetBuffer(...ids.map(key)) : [];
      const live: SessionRecord[] = [];
      const gone: string[] = [];
      replies.forEach((packed, i) => {
        const id = ids[i] as string;
        if (packed) {
          const { session } = unpackSession(id, packed);
          if (isLive(session, now)) live.push(session);
        } else gone.push(id);
      });
      // Expired sessions leave their ids behind in the user's index: tidy them on the way.
      if (userId !== undefined && gone.length > 0) await redis.hdel(userIndex(userId), ...gone);
      return live.sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id));
    },
    async sweepExpired() {
      // Redis expires session keys by itself, at their idle expiry.
      return 0;
    },
  };
}

/** The ids of the keys matching `pattern`, on every primary of a Cluster. */
export async function scanIds(redis: RedisClient, pattern: string, strip: string): Promise<string[]> {
  const ids: string[] = [];
  for (const node of redis instanceof Cluster ? redis.nodes("master") : [redis]) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 500);
      cursor = next;
      for (const k of keys) ids.push(k.slice(strip.length));
    } while (cursor !== "0");
  }
  return ids;
}
