/**
 * Audit item 1 across instances: concurrent guesses at one account spread over two
 * instances sharing a store are verified at most LOGIN_MAX_FAILURES times in all, on every
 * store that instances share (SQLite, PostgreSQL, Redis).
 */
import { afterEach, expect, it } from "vitest";
import { DEFAULT_THROTTLE_POLICY } from "../../packages/latchkey/src/core/auth.js";
import { RateLimitedError } from "../../packages/latchkey/src/core/errors.js";
import type { Stores } from "../../packages/latchkey/src/core/ports.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { openRedisStores } from "../../packages/latchkey/src/stores/redis/index.js";
import { openTestAuth } from "../helpers/auth.js";
import { countingHasher } from "../helpers/harness.js";
import { freshPrefix, REDIS_URL, redisAvailable } from "../helpers/redis.js";
import { describeWith } from "../helpers/services.js";
import { BACKENDS } from "./backends.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function guessesVerified(one: Stores, two: Stores): Promise<{ verified: number; refused: number }> {
  const counting = countingHasher();
  const open = (stores: Stores) =>
    openTestAuth(stores, { hasher: counting.hasher, limits: { inFlightPerAddress: 1000 }, hashQueue: 1000 });
  const a = await open(one);
  const b = await open(two);
  cleanups.push(async () => {
    a.stop();
    b.stop();
  });
  await a.accounts.register("target", "correct horse battery staple");
  counting.calls.verify = 0;
  const outcomes = await Promise.all(
    Array.from({ length: 60 }, (_, i) =>
      (i % 2 ? a : b).accounts
        .authenticate("target", `wrong guess ${i}`, { ip: `198.51.100.${i}`, userAgent: "t" })
        .then(
          () => "ok",
          (e: unknown) => (e instanceof RateLimitedError ? "refused" : "wrong"),
        ),
    ),
  );
  return { verified: counting.calls.verify, refused: outcomes.filter((o) => o === "refused").length };
}

for (const backend of BACKENDS.filter((b) => b.name === "sqlite" || b.name === "postgres")) {
  describeWith(backend.service?.name ?? "", backend.service?.available ?? true)(
    `login throttle across instances: ${backend.name}`,
    () => {
      it("60 concurrent guesses over two instances: at most LOGIN_MAX_FAILURES verified", async () => {
        const opened = await backend.open();
        cleanups.push(() => opened.cleanup());
        const other = await opened.openAnother?.();
        const { verified, refused } = await guessesVerified(opened.stores, other as Stores);
        expect(verified).toBeLessThanOrEqual(DEFAULT_THROTTLE_POLICY.maxFailures);
        expect(refused).toBeGreaterThanOrEqual(60 - DEFAULT_THROTTLE_POLICY.maxFailures);
      });
    },
  );
}

describeWith("Redis", redisAvailable)("login throttle across instances: redis", () => {
  it("60 concurrent guesses over two instances: at most LOGIN_MAX_FAILURES verified", async () => {
    const { prefix, drop } = freshPrefix();
    const base = createMemoryStores();
    const shared = { ...base, close: async () => {} };
    const one = await openRedisStores({ url: REDIS_URL, base: shared, prefix });
    const two = await openRedisStores({ url: REDIS_URL, base: shared, prefix });
    cleanups.push(async () => {
      await one.close();
      await two.close();
      await drop();
    });
    const { verified } = await guessesVerified(one, two);
    expect(verified).toBeLessThanOrEqual(DEFAULT_THROTTLE_POLICY.maxFailures);
  });
});
