/**
 * `AuthObserver` and `latchkey/metrics` in a library app: what the core tells the
 * observer, and the store proxy that times every call (packages/latchkey/src/core/observer.ts)
 * reading a host's own store (a class, optional methods absent) exactly as it was.
 */
import { describe, expect, it } from "vitest";
import type { AuthObserver } from "../../packages/latchkey/src/core/observer.js";
import { combineObservers, observedHasher, observedStores } from "../../packages/latchkey/src/core/observer.js";
import { limitConcurrency, type PasswordHasher } from "../../packages/latchkey/src/core/password-hasher.js";
import type { Stores } from "../../packages/latchkey/src/core/ports.js";
import { createMetrics } from "../../packages/latchkey/src/metrics.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { openTestAuth } from "../helpers/auth.js";
import { sample } from "../helpers/prometheus.js";

const CLIENT = { ip: "192.0.2.1", userAgent: "test" };
const PASSWORD = "correct horse battery staple";

describe("observedStores", () => {
  class Counters {
    hits = 0;
    async hit(_key: string) {
      this.hits++;
      return { count: this.hits, resetAt: 0 };
    }
    async broken(): Promise<never> {
      throw new Error("disk on fire");
    }
  }

  it("times a class's methods (on its prototype) with `this` intact, keeps absent methods absent and subscribe synchronous", async () => {
    const calls: Array<[string, string, boolean]> = [];
    const counters = new Counters();
    const unsubscribe = () => {};
    const base = createMemoryStores();
    const stores = {
      ...base,
      counters,
      changes: { ...base.changes, subscribe: () => unsubscribe },
      sessions: { ...base.sessions, evictable: undefined },
    } as unknown as Stores;
    const observed = observedStores(stores, {
      storeCall: (port, method, seconds, failed) => {
        expect(seconds).toBeGreaterThanOrEqual(0);
        calls.push([port, method, failed]);
      },
    });
    const timed = observed.counters as unknown as Counters;
    expect(await timed.hit("k")).toEqual({ count: 1, resetAt: 0 });
    expect(counters.hits).toBe(1);
    await expect(timed.broken()).rejects.toThrow("disk on fire");
    expect(calls).toEqual([
      ["counters", "hit", false],
      ["counters", "broken", true],
    ]);
    expect(observed.sessions.evictable).toBeUndefined();
    expect(observed.changes.subscribe?.(() => {})).toBe(unsubscribe);
    expect(observed.close).toBe(stores.close);
  });

  it("is the stores themselves when the observer does not time calls", () => {
    const stores = createMemoryStores();
    expect(observedStores(stores, { refreshRotated() {} })).toBe(stores);
  });
});

describe("latchkey/metrics in a library app", () => {
  it("counts sessions by kind and end, refreshes, token checks, store calls and events, with no identifier", async () => {
    const metrics = createMetrics({ processMetrics: false });
    const auth = await openTestAuth(createMemoryStores(), { observer: metrics.observer });
    metrics.follow(auth);
    try {
      const user = await auth.accounts.register("observed-olga", PASSWORD);
      const { session } = await auth.sessions.signIn({ userId: user.id, kind: "jwt", remember: false, ...CLIENT });
      const refresh = await auth.refreshTokens.issue(session);
      const access = await auth.accessTokens.issueFor(session, user);
      expect((await auth.accessTokens.verify(access.token)).ok).toBe(true);
      expect((await auth.accessTokens.verify(access.token)).ok).toBe(true);
      await auth.refreshTokens.rotate(refresh, CLIENT);
      await auth.sessions.end(session.id, "session_revoked");

      const text = await metrics.registry.metrics();
      expect(sample(text, "latchkey_sessions_created_total", { kind: "jwt" })).toBe(1);
      expect(sample(text, "latchkey_sessions_ended_total", { reason: "session_revoked" })).toBe(1);
      expect(sample(text, "latchkey_refresh_rotations_total")).toBe(1);
      expect(sample(text, "latchkey_access_token_checks_total", { remembered: "false" })).toBe(1);
      expect(sample(text, "latchkey_access_token_checks_total", { remembered: "true" })).toBe(1);
      expect(sample(text, "latchkey_store_call_duration_seconds_count", { port: "sessions", method: "create" })).toBe(
        1,
      );
      expect(sample(text, "latchkey_store_call_duration_seconds_count", { port: "users", method: "create" })).toBe(1);
      expect(sample(text, "latchkey_security_events_total", { type: "login" })).toBe(1);
      expect(text).toContain("latchkey_change_feed_read_age_seconds");
      // No process metrics when asked for none; no identifier ever.
      expect(text).not.toContain("process_resident_memory_bytes");
      for (const secret of ["observed-olga", user.id, session.id, access.token, refresh, PASSWORD]) {
        expect(text.includes(secret)).toBe(false);
      }
    } finally {
      await auth.close();
    }
  });

  it("the sweep's expired sessions count as session_expired", async () => {
    const ended: Array<[string, number]> = [];
    const observer: AuthObserver = { sessionsEnded: (reason, count) => ended.push([reason, count]) };
    const auth = await openTestAuth(createMemoryStores(), {
      observer,
      sessions: { idleTimeout: 1, absoluteTimeout: 60, rememberIdleTimeout: 1, rememberAbsoluteTimeout: 60 },
    });
    try {
      const user = await auth.accounts.register("swept-sam", PASSWORD);
      await auth.sessions.signIn({ userId: user.id, kind: "session", remember: false, ...CLIENT });
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect(await auth.sessions.sweep()).toBe(1);
      expect(ended).toEqual([["session_expired", 1]]);
    } finally {
      await auth.close();
    }
  });
});

describe("the hashing queue's depth (latchkey_password_hashes)", () => {
  it("limitConcurrency tells how many hashes run and how many wait", async () => {
    const release: Array<() => void> = [];
    const slow: PasswordHasher = {
      hash: () => new Promise<string>((resolve) => release.push(() => resolve("h"))),
      verify: async () => true,
      needsRehash: () => false,
    };
    const hasher = limitConcurrency(slow, { limit: 1, maxQueue: 5 });
    expect(hasher.load?.()).toEqual({ running: 0, waiting: 0 });
    const hashes = [hasher.hash("a"), hasher.hash("b"), hasher.hash("c")];
    await new Promise((resolve) => setImmediate(resolve));
    expect(hasher.load?.()).toEqual({ running: 1, waiting: 2 });
    while (release.length > 0 || hasher.load?.().running) {
      release.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(hashes);
    expect(hasher.load?.()).toEqual({ running: 0, waiting: 0 });
  });
});

describe("observedHasher and combineObservers", () => {
  it("times each hash and check, keeps the hasher's load, and tells every observer combined", async () => {
    const told: string[] = [];
    const plain: PasswordHasher = {
      hash: async () => "h",
      verify: async () => true,
      needsRehash: () => false,
      load: () => ({ running: 0, waiting: 3 }),
    };
    const observer = combineObservers(
      { passwordHashed: (operation) => told.push(`a:${operation}`) },
      { passwordHashed: (operation, seconds) => told.push(`b:${operation}:${seconds >= 0}`), refreshRotated() {} },
    );
    const hasher = observedHasher(plain, observer);
    expect(await hasher.hash("pw")).toBe("h");
    expect(await hasher.verify("h", "pw")).toBe(true);
    expect(hasher.load?.()).toEqual({ running: 0, waiting: 3 });
    expect(told).toEqual(["a:hash", "b:hash:true", "a:verify", "b:verify:true"]);
    expect(typeof observer.refreshRotated).toBe("function");
    expect(observer.sessionCreated).toBeUndefined();
    // Without a passwordHashed, the hasher itself.
    expect(observedHasher(plain, { refreshRotated() {} })).toBe(plain);
  });
});
