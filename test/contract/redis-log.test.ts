/**
 * Audit item 14: during a Redis outage ioredis printed `[ioredis] Unhandled error event`
 * lines to stderr, outside the JSON log. Every error now goes to the store's `onError`
 * (the server's pino logger), and nothing reaches the console.
 */
import { afterEach, expect, it, vi } from "vitest";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { openRedisStores } from "../../packages/latchkey/src/stores/redis/index.js";
import { freshPrefix, REDIS_URL, redisAvailable } from "../helpers/redis.js";
import { describeWith } from "../helpers/services.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";

afterEach(() => vi.restoreAllMocks());

describeWith("Redis", redisAvailable)("Redis connection errors", () => {
  it("go to onError, rate-limited, and never to the console as ioredis's own lines", async () => {
    const url = new URL(REDIS_URL);
    const proxy = await startTcpProxy(url.hostname, Number(url.port || 6379));
    const { prefix, drop } = freshPrefix();
    const consoleError = vi.spyOn(console, "error");
    const consoleWarn = vi.spyOn(console, "warn");
    const errors: string[] = [];
    const stores = await openRedisStores({
      url: `redis://127.0.0.1:${proxy.port}`,
      base: createMemoryStores(),
      prefix,
      onError: (_error, client) => errors.push(client),
    });
    try {
      proxy.cut();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.length).toBeLessThanOrEqual(2); // one per client within 10 s
      const printed = [...consoleError.mock.calls, ...consoleWarn.mock.calls].map((c) => String(c[0]));
      expect(printed.filter((line) => line.includes("ioredis"))).toEqual([]);
      await expect(stores.sessions.findWithUser("x")).rejects.toMatchObject({ code: "service_unavailable" });
    } finally {
      proxy.restore();
      await stores.close();
      await proxy.close();
      await drop();
    }
  });
});
