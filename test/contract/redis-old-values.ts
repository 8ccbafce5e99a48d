/**
 * Session values as earlier releases wrote them to Redis, for the cases that check a
 * release reads and rewrites them (redis-roles, redis-session-renewal,
 * redis-sign-in-methods): the stores on a fresh key prefix, a plain client on the same
 * keys, and the old layouts written by hand.
 */
import { Redis } from "ioredis";
import type { Stores } from "../../packages/latchkey/src/core/ports.js";
import type { SessionRecord, UserRecord } from "../../packages/latchkey/src/core/records.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { openRedisStores } from "../../packages/latchkey/src/stores/redis/index.js";
import {
  compactUserId,
  decoder,
  encoder,
  sessionKeys,
} from "../../packages/latchkey/src/stores/redis/session-codec.js";
import { freshPrefix, REDIS_URL } from "../helpers/redis.js";

/**
 * A session value as an earlier release wrote it: its first `length` fields (13 before
 * roles, 15 before renewal, 17 before sign-in methods). Written out here, not with
 * `packSession`, so the old layouts stay as they were whatever the codec becomes.
 */
export function oldValue(session: SessionRecord, user: UserRecord, length: 13 | 15 | 17): Uint8Array {
  const fields: unknown[] = [
    compactUserId(user.id),
    session.secretHash,
    0,
    session.remember,
    session.createdAt,
    session.lastSeenAt - session.createdAt,
    session.expiresAt - session.createdAt,
    session.idleTimeoutMs,
    session.idleExpiresAt - session.lastSeenAt,
    session.ip,
    session.userAgent,
    user.username,
    user.createdAt,
    user.roles,
    user.rolesAt,
    session.previousSecretHash ?? "",
    session.secretRotatedAt - session.createdAt,
  ];
  return encoder.encode(fields.slice(0, length));
}

/** Redis stores on a fresh key prefix, and a plain client on the same keys. */
export interface OldValues {
  /** The stores under test (the first handle). */
  stores: Stores;
  /** Another handle on the same keys and base, closed with the rest. */
  open(): Promise<Stores>;
  /** The plain client. */
  raw: Redis;
  keys: ReturnType<typeof sessionKeys>;
  /** Stores `value` for `session` by hand, as an earlier release would have. */
  writeOld(session: SessionRecord, value: Uint8Array): Promise<void>;
  /** The stored value, decoded: it must stay an array (cmsgpack packs a table with a hole as a map). */
  stored(id: string): Promise<unknown>;
  /** Disconnects, closes every handle and deletes the keys. */
  close(): Promise<void>;
}

/** Opens the stores (on `base`, by default fresh memory stores) and the plain client. */
export async function openOldValues(base: Stores = createMemoryStores()): Promise<OldValues> {
  const { prefix, drop } = freshPrefix();
  const opened: Stores[] = [];
  const open = async (): Promise<Stores> => {
    const handle = await openRedisStores({ url: REDIS_URL, base, prefix });
    opened.push(handle);
    return handle;
  };
  const stores = await open();
  const raw = new Redis(REDIS_URL);
  const keys = sessionKeys(prefix);
  return {
    stores,
    open,
    raw,
    keys,
    async writeOld(session, value) {
      await raw.set(keys.session(session.id), Buffer.from(value), "PXAT", session.idleExpiresAt);
      await raw.hset(keys.userIndex(session.userId), session.id, "");
    },
    async stored(id) {
      const packed = await raw.getBuffer(keys.session(id));
      return packed ? decoder.decode(packed) : null;
    },
    async close() {
      raw.disconnect();
      for (const handle of opened.splice(0)) await handle.close();
      await drop();
    },
  };
}
