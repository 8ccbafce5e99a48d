/**
 * Audit item 2: after Redis loses its data (a restart without persistence, a failover, a
 * restore), the change feed's sequence starts again at 1. Two latchkey instances on one
 * Redis, the way a cluster runs them: revocations made after the loss must still reach the
 * other instance within a second, and tokens from before the loss must not be vouched for.
 */
import { afterEach, expect, it } from "vitest";
import type { Auth } from "../../packages/latchkey/src/core/auth.js";
import type { Stores } from "../../packages/latchkey/src/core/ports.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { openRedisStores } from "../../packages/latchkey/src/stores/redis/index.js";
import { openTestAuth } from "../helpers/auth.js";
import { freshPrefix, REDIS_URL, redisAvailable } from "../helpers/redis.js";
import { describeWith } from "../helpers/services.js";

/** A plain user's roles, as a token carries them. */
const USER_ROLES = { roles: ["user"], rolesAt: 0 };

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function twoInstances(): Promise<{ a: Auth; b: Auth; loseRedisData: () => Promise<void> }> {
  const { prefix, drop } = freshPrefix();
  const base = createMemoryStores(); // the durable store both instances share
  const open = async (): Promise<Auth> => {
    const stores: Stores = await openRedisStores({ url: REDIS_URL, base: { ...base, close: async () => {} }, prefix });
    const auth = await openTestAuth(stores);
    cleanups.push(async () => {
      auth.stop();
      await stores.close();
    });
    return auth;
  };
  const a = await open();
  const b = await open();
  cleanups.push(drop);
  return { a, b, loseRedisData: drop };
}

const client = { ip: "127.0.0.1", userAgent: "test" };

async function bearer(auth: Auth, userId: string) {
  const { session } = await auth.sessions.create({ userId, kind: "bearer", remember: false, ...client });
  const { token } = await auth.accessTokens.issueFor(session, USER_ROLES);
  return { session, token };
}

async function until(check: () => Promise<boolean>, ms = 1000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describeWith("Redis", redisAvailable)("the change feed after Redis loses its data", () => {
  it("a revocation made after the loss reaches the other instance within a second", async () => {
    const { a, b, loseRedisData } = await twoInstances();
    const user = await a.accounts.register("feedloss", "correct horse battery staple");
    // History before the loss: B has read up to a sequence number well above 1.
    for (let i = 0; i < 5; i++) await a.sessions.end((await bearer(a, user.id)).session.id);
    expect(await until(async () => b.changes.lastSeq >= 5)).toBe(true);

    await loseRedisData();
    const after = await bearer(a, user.id);
    expect((await b.accessTokens.verify(after.token)).ok).toBe(true);
    await a.sessions.endAllForUser(user.id); // publishes seq 1 of the new history
    expect(await until(async () => !(await b.accessTokens.verify(after.token)).ok)).toBe(true);
  });

  it("a token issued before the loss is not vouched for: its session is checked, and it is gone", async () => {
    const { a, b, loseRedisData } = await twoInstances();
    const user = await a.accounts.register("feedloss2", "correct horse battery staple");
    const before = await bearer(a, user.id);
    expect((await b.accessTokens.verify(before.token)).ok).toBe(true);
    await loseRedisData(); // the session lived in Redis: it is gone
    await b.changes.poll();
    expect(await b.accessTokens.verify(before.token)).toEqual({
      ok: false,
      reason: "revoked",
      sessionId: expect.any(String),
    });
    // A token issued after the reset is vouched for by the feed again.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const after = await bearer(a, user.id);
    expect((await b.accessTokens.verify(after.token)).ok).toBe(true);
  });

  it("a process that starts behind 1,000 or more old feed entries still sees new changes", async () => {
    const { a, b } = await twoInstances();
    const user = await a.accounts.register("feedold", "correct horse battery staple");
    const old = Date.now() - 2 * 3_600_000;
    for (let i = 0; i < 1200; i++) await a.stores.changes.publish("session_ended", `ancient-${i}`, old);
    const fresh = await openTestAuth(b.stores);
    cleanups.push(async () => fresh.stop());
    const t = await bearer(a, user.id);
    expect((await fresh.accessTokens.verify(t.token)).ok).toBe(true);
    await a.sessions.end(t.session.id);
    expect(await until(async () => !(await fresh.accessTokens.verify(t.token)).ok)).toBe(true);
  }, 60_000);
});
