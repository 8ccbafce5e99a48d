// Helpers the bench scripts share.
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The keys of `redis` that start with `prefix`, in batches. */
export async function* keysWithPrefix(redis, prefix) {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 10_000);
    cursor = next;
    if (keys.length > 0) yield keys;
  } while (cursor !== "0");
}

/** Deletes every key of `redis` that starts with `prefix`. */
export async function deleteKeysWithPrefix(redis, prefix) {
  for await (const keys of keysWithPrefix(redis, prefix)) await redis.unlink(...keys);
}

/** The User-Agent of the filler sessions: a current desktop Chrome. */
export const FILLER_AGENT =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36";

/**
 * A session record as a sign-in at `now` makes it (the default 30-minute idle and
 * 12-hour absolute timeouts), with a random id and secret hash, for filling a store.
 */
export function fillerSession(userId, now, kind = "session") {
  return {
    id: randomBytes(16).toString("base64url"),
    userId,
    secretHash: randomBytes(32).toString("base64url"),
    kind,
    remember: false,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now + 43_200_000,
    idleTimeoutMs: 1_800_000,
    idleExpiresAt: now + 1_800_000,
    ip: "203.0.113.7",
    userAgent: FILLER_AGENT,
  };
}
