/**
 * A real Redis for tests: `LATCHKEY_TEST_REDIS_URL`, default the local server. Each caller
 * gets a fresh key prefix, deleted after.
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";

export const REDIS_URL = process.env.LATCHKEY_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export const redisAvailable: boolean = await (async () => {
  const client = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 1500,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
})();

/** A fresh key prefix; `drop` deletes every key under it. */
export function freshPrefix(): { prefix: string; drop(): Promise<void> } {
  const prefix = `lktest:${randomBytes(5).toString("hex")}:`;
  return {
    prefix,
    async drop() {
      const client = new Redis(REDIS_URL);
      let cursor = "0";
      do {
        const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
        cursor = next;
        if (keys.length > 0) await client.del(...keys);
      } while (cursor !== "0");
      client.disconnect();
    },
  };
}
