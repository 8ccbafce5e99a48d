/** The Redis `SessionStore`: one key per session, and a set per user of their session ids. */
import type { Redis } from "ioredis";
import { AuthError } from "../../core/errors.js";
import type { SessionStore, Stores } from "../../core/ports.js";
import type { SessionRecord } from "../../core/records.js";
import { rolesCopier } from "./roles.js";
import * as lua from "./scripts.js";
import { compactUserId, packSession, sessionKeys, unpackSession } from "./session-codec.js";
import { disabledMarker, evalBuffer } from "./util.js";

export const isLive = (s: SessionRecord, now: number) => now < s.idleExpiresAt && now < s.expiresAt;

export function sessionStore(redis: Redis, p: string, base: Stores): SessionStore {
  const { session: key, userIndex } = sessionKeys(p);
  const copyRoles = rolesCopier(redis, p, base);
  return {
    async create(session) {
      // The user's public fields ride along, so a lookup is one read.
      const user = await base.users.findById(session.userId);
      if (!user) throw new Error("no such user");
      const created = await redis.eval(
        lua.CREATE_SESSION,
        2,
        key(session.id),
        userIndex(session.userId),
        Buffer.from(packSession(session, user)) as unknown as string,
        session.idleExpiresAt,
        session.expiresAt,
        session.id,
        disabledMarker(p, session.userId),
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
      return (await redis.eval(lua.REPLACE_SECRET, 1, key(id), secretHash, at)) === 1;
    },
    async renewSecret(id, expectedHash, { secretHash, at, lastSeenAt, idleExpiresAt }) {
      const args = [expectedHash, secretHash, at, lastSeenAt, idleExpiresAt];
      return (await redis.eval(lua.RENEW_SECRET, 1, key(id), ...args)) === 1;
    },
    async reauthenticate(id, at, amr) {
      return (await redis.eval(lua.REAUTHENTICATE, 1, key(id), at, ...amr)) === 1;
    },
    async delete(id) {
      const packed = await evalBuffer(redis, lua.DELETE_SESSION, p, id);
      return packed ? unpackSession(id, packed).session : null;
    },
    async deleteByUser(userId, exceptId) {
      return (await redis.eval(lua.DELETE_USER_SESSIONS, 0, p, compactUserId(userId), exceptId ?? "")) as string[];
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

export async function scanIds(redis: Redis, pattern: string, strip: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 500);
    cursor = next;
    for (const k of keys) ids.push(k.slice(strip.length));
  } while (cursor !== "0");
  return ids;
}
