/**
 * A Redis command in flight when the connection drops, while something in front of Redis
 * (a proxy, a balancer) keeps accepting connections and closing them: ioredis starts its
 * retry count again on every accepted connection, so `maxRetriesPerRequest` never ends
 * the command, and the request waiting on it hung for ever. Every command has a deadline
 * (2 s, as the connection has): then it is a store outage, answered 503.
 */
import { expect, it } from "vitest";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { openRedisStores } from "../../packages/latchkey/src/stores/redis/index.js";
import { freshPrefix, REDIS_URL, redisAvailable } from "../helpers/redis.js";
import { describeWith } from "../helpers/services.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";

describeWith("Redis", redisAvailable)("a Redis command whose connection drops under it", () => {
  it("is refused as a store outage within its deadline, never left waiting", async () => {
    const url = new URL(REDIS_URL);
    const proxy = await startTcpProxy(url.hostname, Number(url.port || 6379));
    const { prefix, drop } = freshPrefix();
    const stores = await openRedisStores({
      url: `redis://127.0.0.1:${proxy.port}`,
      base: createMemoryStores(),
      prefix,
      onError: () => {},
    });
    try {
      expect(await stores.sessions.findWithUser("x")).toBeNull();
      // The cut and the command in the same tick: the command is written, then its
      // connection is gone, and every new one is accepted and closed.
      proxy.cut();
      const started = Date.now();
      const outcome = await Promise.race([
        stores.sessions.findWithUser("x").then(
          () => "answered",
          (error: { code?: string }) => error.code,
        ),
        new Promise((resolve) => setTimeout(() => resolve("still waiting after 8 s"), 8000)),
      ]);
      expect(outcome).toBe("service_unavailable");
      expect(Date.now() - started).toBeLessThan(8000);
    } finally {
      proxy.restore();
      await stores.close();
      await proxy.close();
      await drop();
    }
  }, 20_000);
});
