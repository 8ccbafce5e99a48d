/** The Redis `CounterStore`: atomic counters that expire with their window. */

import type { CounterStore } from "../../core/ports.js";
import type { RedisClient } from "./client.js";
import * as lua from "./scripts.js";

export function counterStore(redis: RedisClient, p: string): CounterStore {
  const key = (k: string) => `${p}c:${k}`;
  return {
    async hit(k, windowMs, now) {
      const [count, resetAt] = (await redis.eval(lua.HIT, 1, key(k), now, windowMs)) as [number, number];
      return { count: Number(count), resetAt: Number(resetAt) };
    },
    async peek(k, now) {
      const value = await redis.get(key(k));
      if (!value) return null;
      const [count, resetAt] = value.split(":").map(Number) as [number, number];
      return resetAt > now ? { count, resetAt } : null;
    },
    async release(k, now) {
      await redis.eval(lua.RELEASE, 1, key(k), now);
    },
    async reset(k) {
      await redis.del(key(k));
    },
    async sweepExpired() {
      // Counter keys expire at the end of their window.
      return 0;
    },
  };
}
