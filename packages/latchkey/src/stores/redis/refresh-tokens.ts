/** The Redis `RefreshTokenStore`: one key per token, expiring with it. */
import type { RefreshTokenStore } from "../../core/ports.js";
import type { RefreshTokenRecord } from "../../core/records.js";
import type { RedisLink } from "./client.js";
import * as lua from "./scripts.js";
import { num } from "./util.js";

/** Every write goes through `link.commit`: a rotation lost to a failover would let a used token be used again. */
export function refreshTokenStore(link: RedisLink, p: string): RefreshTokenStore {
  const { client: redis, commit } = link;
  const key = (id: string) => `${p}rt:${id}`;
  return {
    async create(token) {
      await commit((w) =>
        w
          .multi()
          .hset(key(token.id), {
            id: token.id,
            sessionId: token.sessionId,
            secretHash: token.secretHash,
            createdAt: String(token.createdAt),
            expiresAt: String(token.expiresAt),
            rotatedAt: token.rotatedAt === null ? "" : String(token.rotatedAt),
          })
          .pexpireat(key(token.id), token.expiresAt)
          .sadd(`${p}srt:${token.sessionId}`, token.id)
          .pexpireat(`${p}srt:${token.sessionId}`, token.expiresAt, "GT")
          .pexpireat(`${p}srt:${token.sessionId}`, token.expiresAt, "NX")
          .exec(),
      );
    },
    async find(id) {
      const f = await redis.hgetall(key(id));
      if (!f.id) return null;
      const token: RefreshTokenRecord = {
        id: f.id,
        sessionId: f.sessionId as string,
        secretHash: f.secretHash as string,
        createdAt: num(f.createdAt),
        expiresAt: num(f.expiresAt),
        rotatedAt: f.rotatedAt ? num(f.rotatedAt) : null,
      };
      return token;
    },
    async markRotated(id, now) {
      return (await commit((w) => w.eval(lua.MARK_ROTATED, 1, key(id), now))) === 1;
    },
    async retireForSession(sessionId, now) {
      await commit((w) => w.eval(lua.RETIRE_SESSION_TOKENS, 1, `${p}srt:${sessionId}`, p, sessionId, now));
    },
  };
}
